import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 has index.js and index.mjs and no exports map: vite would give
    // test files the .mjs copy while externalized deps (yoga, Pothos) load the
    // .js one -> "Duplicate graphql modules" (stack-notes §1). A regex, not the
    // string 'graphql', so subpaths such as 'graphql/language/index.js' are left alone
    // (a string key would also rewrite them to 'graphql/index.js/language/...').
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Starts a private redis-server on a free port and provides its URL (test/helpers/redis.ts).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // 2-core machine: two forked workers, files in parallel.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
