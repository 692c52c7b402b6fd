// Placeholder until the providers land.
import { randomBytes } from 'node:crypto';
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}
