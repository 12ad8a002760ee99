import { expect } from 'chai';
import fc from 'fast-check';
import type { Store } from '../../../src/store/index.ts';
import type { IngestItem } from '../../../src/store/rows/ingest.ts';
import { backendName, type TestDatabase } from '../../helpers/backend.ts';
import type { Seeder } from '../../helpers/seed.ts';
import { closeSeededStore, openSeededStore } from '../../helpers/store.ts';

/**
 * Whatever text and numbers an ingest batch carries come back from the store unchanged. On SQLite
 * the batch is one script with every value written in as a literal (src/store/sqlite/sql.ts), so
 * this is the test of that writer: quotes, NULs, every Unicode plane, numbers up to 2^53.
 */
describe(`ingest: arbitrary values round trip unchanged (${backendName()})`, () => {
  let database: TestDatabase;
  let store: Store;
  let seed: Seeder;

  before(async () => {
    ({ database, store, seed } = await openSeededStore());
  });
  after(async () => closeSeededStore(database, store));

  // PostgreSQL's text types cannot hold U+0000 (it refuses the value); SQLite stores it, and the
  // literal writer must then get it through SQLite's C API, which ends a statement at a NUL.
  const allowNul = backendName() === 'sqlite';

  /** Any Unicode text (every plane, no lone surrogates), with the characters SQL quoting is about mixed in. */
  const text = (maxLength: number): fc.Arbitrary<string> =>
    fc
      .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom("'", "''", '"', '\\', '\u0000', ';', '--', "X'00'", '\n', '\r\n', '\u2028', '😀')), {
        maxLength: 12,
      })
      .map((parts) => [...parts.join('')].slice(0, maxLength).join(''))
      .map((s) => (allowNul ? s : s.replaceAll('\u0000', '')));
  const nullable = (maxLength: number): fc.Arbitrary<string | null> => fc.option(text(maxLength), { nil: null });
  const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

  const values = fc.record({
    receivedAt: time,
    envelope: text(400),
    headers: fc.dictionary(text(20), text(40), { maxKeys: 4 }),
    authUser: nullable(200),
    remoteAddr: nullable(100),
    eventCode: text(100),
    orderKey: nullable(300),
    sourceSystem: nullable(100),
    position: int32,
    payload: text(2000),
    raw: nullable(2000),
    triggerPoint: text(200),
    idempotencyKey: nullable(300),
  });

  it('stores pushes, events and deliveries with exactly the text and numbers given', async () => {
    await fc.assert(
      fc.asyncProperty(values, async (v) => {
        const eventId = seed.newId();
        const item: IngestItem = {
          push: {
            id: seed.newId(),
            receivedAt: v.receivedAt,
            path: '/soap/business-events',
            connectorScope: null,
            soapVersion: '1.1',
            contentType: 'text/xml',
            headers: v.headers,
            raw: v.envelope,
            rawSize: v.envelope.length,
            authMethod: 'basic',
            authUser: v.authUser,
            remoteAddr: v.remoteAddr,
            requestId: null,
          },
          nonce: null,
          events: [
            {
              id: eventId,
              source: 'oracle-om',
              eventCode: v.eventCode,
              orderKey: v.orderKey,
              sourceSystem: v.sourceSystem,
              connectorScope: null,
              position: v.position,
              payload: v.payload,
              raw: v.raw,
              // A fresh hash per case: every event is new, none a duplicate.
              contentHash: eventId,
              dedupeScope: 'roundtrip',
              dedupeSince: v.receivedAt,
              deliveries: [{ id: seed.newId(), connector: 'crm', triggerPoint: v.triggerPoint, orderKey: v.orderKey, idempotencyKey: v.idempotencyKey }],
            },
          ],
          requestId: null,
        };
        const outcome = await store.ingest.submit(item);
        expect(outcome.accepted).to.equal(true);

        const push = await store.browse.push(item.push?.id ?? '');
        expect(push && { raw: push.raw, headers: JSON.parse(push.headers) as unknown, authUser: push.authUser, remoteAddr: push.remoteAddr, receivedAt: push.receivedAt }).to.deep.equal({
          raw: v.envelope,
          headers: v.headers,
          authUser: v.authUser,
          remoteAddr: v.remoteAddr,
          receivedAt: v.receivedAt,
        });
        const event = await store.browse.event(eventId);
        expect(
          event && {
            eventCode: event.eventCode,
            orderKey: event.orderKey,
            sourceSystem: event.sourceSystem,
            position: event.position,
            payload: event.payload,
            raw: event.raw,
            receivedAt: event.receivedAt,
          },
        ).to.deep.equal({
          eventCode: v.eventCode,
          orderKey: v.orderKey,
          sourceSystem: v.sourceSystem,
          position: v.position,
          payload: v.payload,
          raw: v.raw,
          receivedAt: v.receivedAt,
        });
        const [delivery] = await store.browse.deliveriesOfEvents([eventId]);
        expect(delivery && { triggerPoint: delivery.triggerPoint, orderKey: delivery.orderKey, idempotencyKey: delivery.idempotencyKey, nextAttemptAt: delivery.nextAttemptAt }).to.deep.equal({
          triggerPoint: v.triggerPoint,
          orderKey: v.orderKey,
          idempotencyKey: v.idempotencyKey,
          nextAttemptAt: v.receivedAt,
        });
      }),
      { numRuns: 150 },
    );
  });
});
