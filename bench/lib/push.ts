/** The pushes the benchmark sends, built by the sandbox's OM push builder. */
import { buildPush, realisticPush, type PushHeaderInput } from '../../src/sandbox/om-push.ts';

export const SOAP_PATH = '/soap/business-events';
export const SOAP_USER = 'om-connector';
export const SOAP_PASSWORD = 'Bench-Secret-4c1e9a';
/** Replaced by a unique value per request (same length, so Content-Length stays right). */
export const PLACEHOLDER = 'ZZZZZZZZZZ';

export const PUSH_HEADERS: Record<string, string> = {
  'content-type': 'text/xml; charset=utf-8',
  soapaction: '"pushPayload"',
};

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;

/** The realistic push (one OrderHeader, 3 lines with fulfilment details), WS-Security UsernameToken. */
export function smallPushTemplate(): string {
  return realisticPush({ orderNumber: `SO-${PLACEHOLDER}`, security });
}

/** A push of about `bytes` bytes: as many realistic OrderHeaders (distinct orders) as it takes. */
export function bigPushTemplate(bytes: number, placeholder: string): string {
  const header = (i: number): PushHeaderInput => ({
    eventCode: 'OrderAttributeUpdate',
    order: { sourceOrderSystem: 'LEG', sourceOrderNumber: `BIG-${placeholder}-${String(i).padStart(5, '0')}`, lines: 3 },
  });
  const one = Buffer.byteLength(buildPush([header(0)], { security }));
  const perHeader = Buffer.byteLength(buildPush([header(0), header(1)], { security })) - one;
  const count = Math.max(1, Math.ceil((bytes - one) / perHeader) + 1);
  return buildPush(Array.from({ length: count }, (_, i) => header(i)), { security });
}
