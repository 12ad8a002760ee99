// Baseline 1, the ceiling: a bare node:http server that reads the push and answers a fixed 202.
import http from 'node:http';
import { serveParent } from './serve-parent.mjs';

const server = http.createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(202, { 'content-length': '0' });
    res.end();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  serveParent({ url: `http://127.0.0.1:${port}` }, {}, () => new Promise((r) => server.close(() => r())));
});
