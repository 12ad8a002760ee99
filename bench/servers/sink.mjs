// The REST target of the end-to-end runs: answers every request at once with 200 and counts them.
import http from 'node:http';
import { serveParent } from './serve-parent.mjs';

let received = 0;
const server = http.createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    received++;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' });
    res.end('{}');
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  serveParent({ url: `http://127.0.0.1:${port}` }, { stats: () => ({ received }) }, () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  );
});
