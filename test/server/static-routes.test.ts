import Router from '@koa/router';
import test from 'ava';
import { got } from 'got';
import Koa from 'koa';
import { requestFrame } from '../../server/middleware/frame.ts';
import { staticRoutes } from '../../server/middleware/static-routes.ts';
import { createLogger } from '../../server/logger.ts';

async function serve(t: { teardown(fn: () => void): void }, middleware: Koa.Middleware) {
  const app = new Koa();
  app.use(requestFrame(createLogger('silent'), { secureCookies: false }));
  app.use(middleware);
  app.use((ctx) => {
    ctx.body = 'fell through';
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as { port: number };
  return got.extend({ prefixUrl: `http://127.0.0.1:${port}`, throwHttpErrors: false, retry: { limit: 0 } });
}

function router() {
  const routes = new Router();
  routes.get('/a', (ctx) => {
    ctx.body = 'got a';
  });
  routes.post('/a', (ctx) => {
    ctx.body = 'posted a';
  });
  return routes;
}

test('serves a router\'s static routes by path and method, HEAD included, and passes other paths on', async (t) => {
  const http = await serve(t, staticRoutes({ routers: [router()] }));
  t.is((await http.get('a')).body, 'got a');
  t.is((await http.post('a')).body, 'posted a');
  const head = await http.head('a');
  t.is(head.statusCode, 200);
  t.is(head.body, '');
  t.is((await http.get('elsewhere')).body, 'fell through');
  t.is((await http.get('a/')).body, 'fell through', 'paths match exactly');
});

test('a method a route does not have is a 405 with Allow', async (t) => {
  const http = await serve(t, staticRoutes({ routers: [router()] }));
  const response = await http.delete('a');
  t.is(response.statusCode, 405);
  t.is(response.headers.allow, 'HEAD, GET, POST');
  t.is(JSON.parse(response.body).error, 'method_not_allowed');
});

test('refuses routes it cannot serve from a table: parameters, and the same route twice', (t) => {
  const withParam = new Router();
  withParam.get('/users/:id', () => {});
  t.throws(() => staticRoutes({ routers: [withParam] }), { message: /static paths only/ });
  t.throws(() => staticRoutes({ routers: [router()] }, { routers: [router()] }), { message: /\/a is declared twice/ });
});

test("a group's `before` middleware runs ahead of that group's routes only", async (t) => {
  const seen: string[] = [];
  const other = new Router();
  other.get('/b', (ctx) => {
    ctx.body = `got b after ${seen.join(', ')}`;
  });
  const http = await serve(
    t,
    staticRoutes(
      { routers: [other] },
      {
        routers: [router()],
        before: [
          (ctx, next) => {
            seen.push(ctx.path);
            return next();
          },
        ],
      },
    ),
  );
  t.is((await http.get('a')).body, 'got a');
  t.is((await http.get('b')).body, 'got b after /a');
  t.is((await http.get('elsewhere')).body, 'fell through');
  t.deepEqual(seen, ['/a']);
});

test("a wrong method meets the path's `before` middleware ahead of the 405", async (t) => {
  const refuse: Koa.Middleware = (ctx) => {
    ctx.status = 401;
    ctx.body = 'who are you?';
  };
  const http = await serve(t, staticRoutes({ routers: [router()], before: [refuse] }));
  const response = await http.delete('a');
  t.is(response.statusCode, 401);
  t.is(response.headers.allow, undefined);
});
