import { realpath, rm } from 'node:fs/promises';
import { toCookieJar } from './cookies.ts';
import { LoginError } from './errors.ts';
import { helperCommand } from './invocation.ts';
import { inspectProfileFolder, notAProfileMessage } from './profile-folder.ts';
import { currentToken, locked, signIn, type Effects, type Settings } from './sign-in.ts';
import { printableJson } from './terminal-text.ts';
import { isFresh } from './token-cache.ts';

/** `login`: sign in and print the email. */
export async function login(effects: Effects, settings: Settings): Promise<void> {
  const { email } = await signIn(effects, settings);
  effects.output.result(email);
}

/** `token`: print a valid id_token, signing in again only when needed. The only command that prints the token. */
export async function token(effects: Effects, settings: Settings): Promise<void> {
  const { idToken } = await currentToken(effects, settings);
  effects.output.result(idToken);
}

/** `whoami`: ask the server who the cached token belongs to; never opens a browser. */
export async function whoami(effects: Effects, settings: Settings, options: { json: boolean }): Promise<void> {
  const cached = await effects.store.read(settings.serverUrl);
  if (!cached || !isFresh(cached, effects.clock)) {
    throw new LoginError('NOT_SIGNED_IN', `Not signed in to ${settings.serverUrl} (or the token expired): run ${helperCommand('login')}`);
  }
  if (options.json) {
    effects.output.result(printableJson(await effects.api.fetchClaims(cached.idToken)));
  } else {
    effects.output.result(await effects.api.fetchEmail(cached.idToken));
  }
}

/**
 * `logout`: forget the cached token; with `all`, also end the server session
 * (GET /logout with the profile's cookies) and delete the browser profile, so
 * the IdP no longer remembers this browser either. Failing to reach the
 * server only warns: the local clean-up is what the user asked for.
 */
export async function logout(effects: Effects, settings: Settings, options: { all: boolean }): Promise<void> {
  const { output } = effects;
  // A --profile link is followed: the profile it points to is what gets deleted.
  const profileDir = options.all ? await realpath(settings.profileDir).catch(() => settings.profileDir) : settings.profileDir;
  const profile = options.all ? await inspectProfileFolder(profileDir) : 'missing';
  if (profile === 'other') {
    // Checked before anything is removed: a refused logout --all changes nothing.
    throw new LoginError('USAGE', `${notAProfileMessage(settings.profileDir)}, so logout --all deletes nothing: check --profile`);
  }
  const removed = await effects.store.remove(settings.serverUrl);
  output.info(removed ? `Removed the cached token for ${settings.serverUrl}.` : `No cached token for ${settings.serverUrl}.`);
  if (!options.all) return;
  if (profile === 'missing') {
    output.info(`No browser profile at ${settings.profileDir}.`);
    return;
  }
  await locked(effects, settings, effects.clock.now() + settings.timeoutMs, async () => {
    try {
      const cookies = await effects.launcher.readCookies({ executablePath: effects.findBrowser(), profileDir: settings.profileDir });
      await effects.api.endSession(await toCookieJar(cookies, settings.serverUrl));
      output.info(`Ended the session at ${settings.serverUrl}.`);
    } catch (error) {
      output.info(`Could not end the server session (${error instanceof Error ? error.message : String(error)}); deleting the profile anyway.`);
    }
    await rm(profileDir, { recursive: true, force: true });
    if (profileDir !== settings.profileDir) await rm(settings.profileDir, { force: true }); // the link, now dangling
  });
  output.info(`Deleted the browser profile ${settings.profileDir}.`);
}
