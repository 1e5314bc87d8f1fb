import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import envPaths from 'env-paths';
import { z } from 'zod';
import { generateSigningKey } from './keys.ts';

/** Development secrets that survive restarts, so a restart does not sign everybody out. */
export interface DevState {
  sessionKey: string;
  clientSecret: string;
  signingKey: Record<string, unknown>;
}

const devStateSchema = z.object({
  sessionKey: z.string().min(32),
  clientSecret: z.string().min(16),
  signingKey: z.record(z.string(), z.unknown()),
});

/** Where the development state is kept: the user's data folder, never the project folder. */
export function devStatePath(): string {
  return path.join(envPaths('koa-oidc-sso', { suffix: '' }).data, 'dev-server.json');
}

/** Reads the development state, or creates it (mode 0600) when missing or unreadable. */
export function loadDevState(file = devStatePath()): DevState {
  try {
    const parsed = devStateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // Missing or corrupt: start afresh below.
  }
  const state: DevState = {
    sessionKey: randomBytes(32).toString('base64url'),
    clientSecret: randomBytes(24).toString('base64url'),
    signingKey: generateSigningKey(),
  };
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state), { mode: 0o600 });
  renameSync(temporary, file);
  return state;
}
