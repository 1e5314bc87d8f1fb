import { Writable } from 'node:stream';
import test from 'ava';
import { pino } from 'pino';
import { cookieClient, signIn } from '../helpers/browserless-login.ts';
import { startIdp } from '../helpers/idp.ts';
import { startServerWithIdp } from '../helpers/server.ts';

test('one log line per request with method, path, status and duration; no token, code or cookie in any line', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const server = await startServerWithIdp(idp, {}, { logger: pino({ level: 'info' }, sink) });
  t.teardown(() => server.close());
  const { http } = cookieClient();

  await signIn(server.url, 'logged@example.com', { http });
  const idToken = (await http.get(`${server.url}/user/token`)).body;
  await http.get(`${server.url}/user/id`, { headers: { authorization: `Bearer ${idToken}` } });
  await http.get(`${server.url}/user/id`, { headers: { authorization: `Bearer ${idToken}x` } });
  await http.get(`${server.url}/callback?code=secret-code-value&state=secret-state-value`);

  const requests = lines.map((line) => JSON.parse(line)).filter((entry) => entry.method);
  t.deepEqual(
    requests.map((entry) => `${entry.method} ${entry.path} ${entry.status}`),
    ['GET /login 302', 'GET /callback 200', 'GET /user/token 200', 'GET /user/id 200', 'GET /user/id 401', 'GET /callback 400'],
  );
  t.true(requests.every((entry) => typeof entry.ms === 'number'));
  const everything = lines.join('\n');
  for (const secret of [idToken, idToken.split('.')[1]!, idToken.split('.')[2]!, 'secret-code-value', 'secret-state-value', 'koa-oidc-sso=']) {
    t.false(everything.includes(secret), `a log line contains ${secret.slice(0, 20)}…`);
  }
});
