import type { Express } from 'express';
import { IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServiceExpressAdapter } from './express-adapter';

describe('ServiceExpressAdapter', () => {
  it("builds each request and response with the app's prototypes before Express sees them", async () => {
    const adapter = new ServiceExpressAdapter();
    adapter.initHttpServer({});
    const app = adapter.getInstance<Express>();
    const server = adapter.getHttpServer() as Server;
    const seen: boolean[] = [];
    // Runs before Express's own listener, which would set the prototypes itself.
    server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
      seen.push(Object.getPrototypeOf(request) === app.request, Object.getPrototypeOf(response) === app.response);
      seen.push(request instanceof IncomingMessage, response instanceof ServerResponse);
    });
    app.get('/x', (request, response) => {
      response.json({ path: request.path, accepts: request.accepts('json') });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/x`, { headers: { accept: 'application/json' } });
      expect(await response.json()).toEqual({ path: '/x', accepts: 'json' });
      expect(seen).toEqual([true, true, true, true]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
