import { expect } from 'chai';
import { buildSchemas, type ConnectorConfig } from '../../../src/config/schema.ts';
import { redactHeaders, redactUrl } from '../../../src/connectors/auth/redact.ts';

function connector(auth: Record<string, unknown>): ConnectorConfig {
  return buildSchemas({ env: { KEY: 'k3y-value' }, baseDir: '.' }).connector.parse({
    name: 'c',
    protocol: 'rest',
    url: 'https://api.example/',
    auth,
  });
}

describe('redaction of request summaries', () => {
  describe('redactHeaders', () => {
    it('hides credential headers whatever their spelling and keeps the rest', () => {
      const headers = {
        Authorization: 'Bearer abc',
        'proxy-authorization': 'Basic xyz',
        COOKIE: 'session=1',
        'Set-Cookie': 'session=2',
        'x-api-key': 'key',
        'Content-Type': 'application/json',
        'Idempotency-Key': '01HX',
      };
      expect(redactHeaders(headers)).to.deep.equal({
        Authorization: '***',
        'proxy-authorization': '***',
        COOKIE: '***',
        'Set-Cookie': '***',
        'x-api-key': '***',
        'Content-Type': 'application/json',
        'Idempotency-Key': '01HX',
      });
      expect(headers.Authorization).to.equal('Bearer abc'); // a copy, not in place
    });

    it("hides the connector's api-key header name", () => {
      const c = connector({ type: 'api-key', key: '${env:KEY}', name: 'Ocp-Apim-Subscription-Key' });
      expect(redactHeaders({ 'ocp-apim-subscription-key': 'k3y-value', accept: '*/*' }, c)).to.deep.equal({
        'ocp-apim-subscription-key': '***',
        accept: '*/*',
      });
      // Without the connector only the fixed list is known.
      expect(redactHeaders({ 'ocp-apim-subscription-key': 'k3y-value' })).to.deep.equal({ 'ocp-apim-subscription-key': 'k3y-value' });
    });

    it('leaves a query-parameter api-key connector with the fixed list', () => {
      const c = connector({ type: 'api-key', key: '${env:KEY}', in: 'query', name: 'token' });
      expect(redactHeaders({ token: 'not-a-header-secret', authorization: 'x' }, c)).to.deep.equal({
        token: 'not-a-header-secret',
        authorization: '***',
      });
    });
  });

  describe('redactUrl', () => {
    const query = connector({ type: 'api-key', key: '${env:KEY}', in: 'query', name: 'api_key' });

    it("replaces the connector's api-key query parameter value with ***", () => {
      expect(redactUrl('https://api.example/orders?a=1&api_key=k3y-value&b=two%20words', query)).to.equal(
        'https://api.example/orders?a=1&api_key=***&b=two%20words',
      );
      expect(redactUrl(new URL('https://api.example/x?api_key=k3y-value#frag'), query)).to.equal('https://api.example/x?api_key=***#frag');
      // Every occurrence, also percent-encoded names.
      expect(redactUrl('https://api.example/x?api%5Fkey=1&api_key=2', query)).to.equal('https://api.example/x?api%5Fkey=***&api_key=***');
    });

    it('leaves other URLs alone, apart from a userinfo password', () => {
      expect(redactUrl('https://api.example/orders?a=1', query)).to.equal('https://api.example/orders?a=1');
      expect(redactUrl('https://api.example/orders?api_key=visible', connector({ type: 'none' }))).to.equal(
        'https://api.example/orders?api_key=visible',
      );
      expect(redactUrl('https://user:pa55@api.example/x')).to.equal('https://user:***@api.example/x');
    });

    it('drops the query of a URL that does not parse', () => {
      expect(redactUrl('not a url?api_key=k3y-value', query)).to.equal('not a url?***');
    });
  });
});
