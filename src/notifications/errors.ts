/** Errors a client can cause. The schema layer turns them into GraphQL errors with extensions.code. */
export type ErrorCode = 'BAD_USER_INPUT' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'RESOURCE_EXHAUSTED';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** the input field at fault, when there is one */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badInput = (field: string, message: string) => new DomainError('BAD_USER_INPUT', `${field}: ${message}`, field);
