import { DomainError } from '../notifications/errors.js';
import type { JobInfo } from '../scheduler/scheduler.js';
import { builder } from './builder.js';

const JobRef = builder.objectRef<JobInfo>('Job').implement({
  description: 'A scheduled job (docs/jobs.md). Status is shared by every instance.',
  fields: (t) => ({
    name: t.exposeID('name'),
    schedule: t.exposeString('schedule', { description: 'cron expression or interval, as configured' }),
    timezone: t.exposeString('timezone', { nullable: true, description: 'IANA zone of a cron schedule' }),
    lastRunAt: t.field({ type: 'DateTime', nullable: true, resolve: (j) => j.lastRunAt }),
    lastStatus: t.exposeString('lastStatus', { nullable: true, description: '"ok" | "failed: <reason>" | null' }),
    nextRunAt: t.field({ type: 'DateTime', nullable: true, resolve: (j) => j.nextRunAt }),
  }),
});

builder.queryField('jobs', (t) =>
  t.field({
    type: [JobRef],
    description: 'admin',
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => ctx.jobs?.list() ?? [],
  }),
);

builder.mutationField('runJob', (t) =>
  t.field({
    type: JobRef,
    description:
      'admin. Runs the job now on this instance and returns it once the run finished. The cluster lock still applies (a run going on elsewhere makes this one a no-op), and so does the job\'s own dedup (the work-end reminder reaches each user once per day).',
    authScopes: { admin: true },
    args: { name: t.arg.id({ required: true }) },
    resolve: (_root, { name }, ctx) => {
      if (!ctx.jobs) throw new DomainError('NOT_FOUND', `name: no job named "${String(name)}" (no scheduler on this server)`, 'name');
      return ctx.jobs.run(String(name));
    },
  }),
);
