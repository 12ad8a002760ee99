import { expect } from 'chai';
import { DELIVERY_FIELDS, DELIVERY_TRANSITIONS, patchOf, type Delivery } from '../../../src/domain/delivery.ts';
import { completionUpdateSql } from '../../../src/store/rows/delivery.ts';
import {
  DELIVERY_COLUMNS,
  deliveryUpdate,
  recoveryRunRow,
  toConnectorState,
  toDelivery,
  toRecoveryRun,
  type ConnectorStateRow,
  type DeliveryRow,
  type RecoveryRunRow,
} from '../../../src/store/rows/mapping.ts';

const ROW: DeliveryRow = {
  id: '01JD0000000000000000000000',
  event_id: '01JD0000000000000000000001',
  connector: 'crm',
  trigger_point: 'tp-1',
  order_key: 'LEG:SO-1',
  event_code: 'FlineStatusUpdate',
  state: 'retrying',
  attempt_count: 3,
  attempts_in_cycle: 2,
  next_attempt_at: 1_000,
  lease_owner: null,
  lease_expires_at: null,
  idempotency_key: null,
  last_error: 'HTTP 503',
  parked_reason: null,
  hold_reason: null,
  admin_reason: null,
  created_at: 500,
  updated_at: 900,
  delivered_at: null,
  correlation_id: 'c-1',
  response_due_at: '4600' as unknown as number,
  responded_at: null,
};

describe('store/row-mapping: rows and domain objects', () => {
  it('maps a delivery row to a Delivery, field by field', () => {
    expect(toDelivery(ROW)).to.deep.equal({
      id: ROW.id,
      eventId: ROW.event_id,
      connector: 'crm',
      triggerPoint: 'tp-1',
      orderKey: 'LEG:SO-1',
      eventCode: 'FlineStatusUpdate',
      state: 'retrying',
      attemptCount: 3,
      attemptsInCycle: 2,
      nextAttemptAt: 1_000,
      leaseOwner: null,
      leaseExpiresAt: null,
      idempotencyKey: null,
      lastError: 'HTTP 503',
      parkedReason: null,
      holdReason: null,
      adminReason: null,
      createdAt: 500,
      updatedAt: 900,
      deliveredAt: null,
      correlationId: 'c-1',
      responseDueAt: 4_600,
      respondedAt: null,
    } satisfies Delivery);
  });

  it('reads times and counters a driver gives as text as numbers, so the state machine counts up', () => {
    // A PostgreSQL bigint without a type parser arrives as text.
    const text = JSON.parse(JSON.stringify({ ...ROW, attempt_count: '9', attempts_in_cycle: '1', lease_expires_at: '1500' })) as DeliveryRow;
    const delivery = toDelivery(text);
    expect(delivery).to.include({ attemptCount: 9, attemptsInCycle: 1, leaseExpiresAt: 1_500 });
    expect(patchOf('deliver', { owner: 'me' }, 2_000, delivery)).to.include({ attemptCount: 10, attemptsInCycle: 2 });
  });

  it('names a column for every field a transition writes, and an update names only columns', () => {
    for (const field of DELIVERY_FIELDS) expect(ROW, field).to.have.property(DELIVERY_COLUMNS[field]);
    expect(deliveryUpdate(patchOf('hold', { reason: 'why' }, 2_000))).to.deep.equal({
      state: 'on_hold',
      updated_at: 2_000,
      lease_owner: null,
      lease_expires_at: null,
      hold_reason: 'admin',
      admin_reason: 'why',
    });
    expect(deliveryUpdate(patchOf('claim', { owner: 'me', leaseUntil: 3_000 }, 2_000))).to.deep.equal({
      state: 'in_flight',
      updated_at: 2_000,
      lease_owner: 'me',
      lease_expires_at: 3_000,
    });
  });

  it('the completion update sets columns, never field names', () => {
    const sql = completionUpdateSql('select 1');
    for (const field of DELIVERY_FIELDS) expect(sql, field).not.to.match(new RegExp(`\\b${field}\\b`));
    for (const field of Object.keys(DELIVERY_TRANSITIONS.deliver.writes) as Array<keyof typeof DELIVERY_COLUMNS>) {
      expect(sql).to.include(`${DELIVERY_COLUMNS[field]} =`);
    }
  });

  it('a recovery run goes to its row and back unchanged', () => {
    const row: RecoveryRunRow = {
      id: 'run',
      slot_key: 'schedule:2026-01-01T00:00:00.000Z',
      trigger: 'schedule',
      scheduled_for: 1,
      started_at: 2,
      finished_at: null,
      state: 'running',
      owner: 'i-1',
      lease_expires_at: 3,
      filters: '{}',
      batch_cap: 50,
      selected: 4,
      replayed: 0,
      skipped: 0,
      resumes: 0,
      error: null,
      actor: null,
    };
    expect(recoveryRunRow(toRecoveryRun(row))).to.deep.equal(row);
  });

  it('a connector state row becomes a ConnectorState, its circuit time a number', () => {
    const row = JSON.parse(
      JSON.stringify({ connector: 'crm', admin_state: 'offline', circuit: 'open', circuit_until: '5000', updated_at: 4_000, updated_by: 'ops' }),
    ) as ConnectorStateRow;
    expect(toConnectorState(row)).to.deep.equal({ connector: 'crm', adminState: 'offline', circuit: 'open', circuitUntil: 5_000, updatedAt: 4_000, updatedBy: 'ops' });
  });
});
