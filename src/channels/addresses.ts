/**
 * Channel addresses: validation when a user sets one, masking in every answer, and scrubbing
 * of secrets out of error texts and logs.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { ExternalChannel } from './provider.js';
import { addressRange, isPublicAddress } from './ssrf.js';

/** A refused address; `message` is meant for the user (BAD_USER_INPUT). */
export class AddressError extends Error {
  override readonly name = 'AddressError';
}

export interface AddressOptions {
  /** WEBHOOK_ALLOW_PRIVATE: http, loopback and private addresses allowed */
  allowPrivate: boolean;
}

export const WEBHOOK_URL_MAX = 2048;
const TELEGRAM_CHAT_ID = /^-?[1-9]\d{0,19}$/;
// public usernames: 5 to 32 of letters, digits and underscores, starting with a letter
const TELEGRAM_USERNAME = /^@[A-Za-z][A-Za-z0-9_]{4,31}$/;
const WECOM_KEY = /^[A-Za-z0-9-]{10,64}$/;

/** The address in normal form, or an AddressError saying what is wrong with it. */
export function validateAddress(channel: ExternalChannel, address: string, { allowPrivate }: AddressOptions): string {
  const value = address.trim();
  switch (channel) {
    case 'WEBHOOK':
      return validateWebhookUrl(value, allowPrivate);
    case 'TELEGRAM':
      if (TELEGRAM_CHAT_ID.test(value) || TELEGRAM_USERNAME.test(value)) return value;
      throw new AddressError('a Telegram address is a chat id (an integer, negative for groups) or @channelusername');
    case 'WECOM':
      return validateWecomKey(value);
  }
}

function validateWebhookUrl(value: string, allowPrivate: boolean): string {
  if (value.length > WEBHOOK_URL_MAX) throw new AddressError(`a webhook URL is at most ${WEBHOOK_URL_MAX} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AddressError('a webhook address is an absolute https URL');
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    throw new AddressError('a webhook URL must use https');
  }
  if (url.username || url.password) throw new AddressError('a webhook URL must not carry credentials');
  if (!url.hostname) throw new AddressError('a webhook URL needs a host');
  if (!allowPrivate) {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (net.isIP(host) && !isPublicAddress(host)) {
      throw new AddressError(`a webhook URL must not point at a ${addressRange(host)} address`);
    }
    // RFC 6761: these names are loopback by definition, no need to wait for the connect
    if (host === 'localhost' || host.endsWith('.localhost')) {
      throw new AddressError('a webhook URL must not point at a loopback address');
    }
  }
  url.hash = ''; // never sent
  return url.href;
}

function validateWecomKey(value: string): string {
  let key = value;
  // people paste the whole robot URL; the key is its `key` parameter
  if (/^https?:\/\//i.test(value)) {
    try {
      key = new URL(value).searchParams.get('key') ?? '';
    } catch {
      key = '';
    }
  }
  if (WECOM_KEY.test(key)) return key;
  throw new AddressError('a WeCom address is the group robot key (the key=… part of its webhook URL)');
}

/**
 * What answers show of an address: a webhook's scheme, host and port plus at most the last
 * four characters of its path and query; the last four of a WeCom key; a Telegram chat id in
 * full (it is not a secret without the bot token).
 */
export function maskAddress(channel: ExternalChannel, address: string): string {
  switch (channel) {
    case 'TELEGRAM':
      return address;
    case 'WECOM':
      return `…${address.slice(-4)}`;
    case 'WEBHOOK': {
      let url: URL;
      try {
        url = new URL(address);
      } catch {
        return '…';
      }
      const rest = url.pathname + url.search;
      if (rest === '/' || rest === '') return `${url.protocol}//${url.host}/`;
      // a short path would be shown whole by its last four
      return `${url.protocol}//${url.host}/…${rest.length >= 12 ? rest.slice(-4) : ''}`;
    }
  }
}

/** A new signing secret for one address: "whsec_" + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The secrets a webhook URL carries: its path and query (the host is not secret). Scrubbed
 * from error texts alongside the whole URL.
 */
export function webhookSecrets(address: string): string[] {
  try {
    const url = new URL(address);
    const rest = url.pathname + url.search;
    return [address, url.href, rest.length > 1 ? rest : '', url.search.slice(1)];
  } catch {
    return [address];
  }
}

/** Shorter strings are not scrubbed: replacing "/" or "a" would mangle the text and hide nothing. */
const MIN_SECRET = 4;

/** Replaces each secret, raw and URL-encoded, with "***". Longest first, so a URL goes before its path. */
export function scrubSecrets(text: string, secrets: readonly (string | undefined | null)[]): string {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s || s.length < MIN_SECRET) continue;
    forms.add(s);
    forms.add(encodeURIComponent(s));
    forms.add(encodeURI(s));
    forms.add(encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()));
  }
  let out = text;
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    if (form.length >= MIN_SECRET) out = out.split(form).join('***');
  }
  return out;
}
