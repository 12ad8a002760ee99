// Baseline 2, what a user would write by hand: node-soap's soap.listen serving the gateway's own WSDL
// (schema inlined, as the gateway serves it), answering pushPayload without storing anything.
import http from 'node:http';
import * as soap from 'soap';
import { loadWsdl } from '../../dist/inbound/soap/wsdl.js';
import { serveParent } from './serve-parent.mjs';

const PATH = '/soap/business-events';
let pushes = 0;
const port = {
  pushPayload: () => {
    pushes++;
  },
};
const services = {
  BusinessEventsConnectorService: {
    BusinessEventsConnectorPayload_pt: port,
    BusinessEventsConnectorPayload_pt_soap12: port,
  },
};

const server = http.createServer((_req, res) => {
  res.statusCode = 404;
  res.end();
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', async () => {
  const url = `http://127.0.0.1:${server.address().port}`;
  const wsdl = (await loadWsdl()).render(`${url}${PATH}`);
  const soapServer = soap.listen(server, PATH, services, wsdl);
  // soap.listen reads the WSDL asynchronously: wait until it serves.
  while (!soapServer.wsdl?.definitions) await new Promise((r) => setTimeout(r, 20));
  serveParent({ url }, { stats: () => ({ pushes }) }, () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  );
});
