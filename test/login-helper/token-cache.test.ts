import { chmod, link, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import type { Clock } from '../../login-helper/clock.ts';
import { MAX_ID_TOKEN_BYTES } from '../../login-helper/limits.ts';
import { createTokenStore, idTokenExpiry, isFresh } from '../../login-helper/token-cache.ts';
import { fakeIdToken, tempFolder } from './_fakes.ts';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  return path.join(await tempFolder(t, 'token-cache-'), 'koa-oidc-sso');
}

const frozenAt = (now: number): Clock => ({ now: () => now });

test('writes the token in a 0600 file inside a 0700 folder and reads it back', async (t) => {
  const dir = await tempDir(t);
  const store = createTokenStore(dir);
  const idToken = fakeIdToken({ exp: 2_000_000_000 });
  await store.write('http://localhost:5000', idToken);

  const [file, ...others] = await readdir(dir);
  t.deepEqual(others, []);
  t.is((await stat(dir)).mode & 0o777, 0o700);
  t.is((await stat(path.join(dir, file!))).mode & 0o777, 0o600);
  t.deepEqual(await store.read('http://localhost:5000'), { server: 'http://localhost:5000', idToken, expiresAt: 2_000_000_000_000 });
});

test('keeps one entry per server URL, in files named by a hash rather than the URL', async (t) => {
  const dir = await tempDir(t);
  const store = createTokenStore(dir);
  await store.write('http://localhost:5000', fakeIdToken({ exp: 2_000_000_000, email: 'a@example.com' }));
  await store.write('https://sso.example.com', fakeIdToken({ exp: 2_000_000_000, email: 'b@example.com' }));

  const files = await readdir(dir);
  t.is(files.length, 2);
  t.true(files.every((file) => /^token-[0-9a-f]{32}\.json$/.test(file)));
  t.not((await store.read('http://localhost:5000'))?.idToken, (await store.read('https://sso.example.com'))?.idToken);
  t.is(await store.read('http://localhost:5001'), undefined);
});

test('a rewrite replaces the file (temporary file + rename) instead of writing into it', async (t) => {
  const dir = await tempDir(t);
  const store = createTokenStore(dir);
  const server = 'http://localhost:5000';
  const older = fakeIdToken({ exp: 2_000_000_000 });
  await store.write(server, older);
  const [file] = await readdir(dir);
  const cacheFile = path.join(dir, file!);
  // A second name for the old inode: a write in place would change it too, a rename leaves it alone.
  const witness = path.join(dir, '..', 'witness');
  await link(cacheFile, witness);
  await chmod(cacheFile, 0o644);

  const newer = fakeIdToken({ exp: 2_000_000_100 });
  await Promise.all([store.write(server, newer), store.write(server, newer)]);

  t.is(JSON.parse(await readFile(witness, 'utf8')).id_token, older);
  t.is((await store.read(server))?.idToken, newer);
  t.is((await stat(cacheFile)).mode & 0o777, 0o600);
  t.deepEqual(await readdir(dir), [file]); // no temporary file left behind
});

/** A token store in a fresh folder that holds one token for `server`, and its cache file. */
async function storeWithOneToken(t: Parameters<typeof tempDir>[0], server: string) {
  const dir = await tempDir(t);
  const store = createTokenStore(dir);
  await store.write(server, fakeIdToken({ exp: 2_000_000_000 }));
  const [file] = await readdir(dir);
  return { store, cacheFile: path.join(dir, file!) };
}

test('a corrupt or foreign cache file is a miss, and the next write repairs it', async (t) => {
  const server = 'http://localhost:5000';
  const { store, cacheFile } = await storeWithOneToken(t, server);

  await writeFile(cacheFile, '{"server": "http://localhost:5000", "id_tok');
  t.is(await store.read(server), undefined);
  await writeFile(cacheFile, JSON.stringify({ server: 'http://elsewhere', id_token: 'x.y.z', expires_at: 1 }));
  t.is(await store.read(server), undefined);

  await store.write(server, fakeIdToken({ exp: 2_000_000_000 }));
  t.truthy(await store.read(server));
  t.true(JSON.parse(await readFile(cacheFile, 'utf8')).id_token.startsWith('eyJ'));
});

test('a cached token the helper would refuse from the server (over 8 KB, not JWT-shaped) counts as no token', async (t) => {
  const server = 'http://localhost:5000';
  const { store, cacheFile } = await storeWithOneToken(t, server);
  // As an earlier version could leave it: that one cached a token of any size.
  const cache = (idToken: string) => writeFile(cacheFile, JSON.stringify({ server, id_token: idToken, expires_at: 2_000_000_000_000 }));
  const token = fakeIdToken({ exp: 2_000_000_000 });
  const atLimit = token + 'A'.repeat(MAX_ID_TOKEN_BYTES - token.length); // a longer signature, still base64url

  await cache(atLimit);
  t.is((await store.read(server))?.idToken, atLimit);
  const refused = { 'over 8 KB': `${atLimit}A`, 'with an escape sequence': `${token}\u001b]0;owned\u0007`, 'not a JWT': 'not a token' };
  for (const [what, idToken] of Object.entries(refused)) {
    await cache(idToken);
    t.is(await store.read(server), undefined, what);
  }
});

test('remove deletes the entry and says whether there was one', async (t) => {
  const store = createTokenStore(await tempDir(t));
  await store.write('http://localhost:5000', fakeIdToken({ exp: 2_000_000_000 }));
  t.true(await store.remove('http://localhost:5000'));
  t.false(await store.remove('http://localhost:5000'));
  t.is(await store.read('http://localhost:5000'), undefined);
});

test('a token expiring within 60 seconds counts as expired', (t) => {
  const token = { server: 'http://localhost:5000', idToken: 'x.y.z', expiresAt: 1_000_000 };
  t.true(isFresh(token, frozenAt(1_000_000 - 60_001)));
  t.false(isFresh(token, frozenAt(1_000_000 - 60_000)));
  t.false(isFresh(token, frozenAt(1_000_000 - 1)));
  t.false(isFresh(token, frozenAt(2_000_000)));
});

test('reads exp from the id_token payload, and nothing from a token without one', async (t) => {
  t.is(idTokenExpiry(fakeIdToken({ exp: 1234 })), 1_234_000);
  t.is(idTokenExpiry(fakeIdToken({})), undefined);
  t.is(idTokenExpiry('not-a-jwt'), undefined);
  const store = createTokenStore(await tempDir(t));
  await t.throwsAsync(store.write('http://localhost:5000', fakeIdToken({})), { instanceOf: Error, message: /exp/ });
});
