import { expect } from 'chai';
import { FUSION_REST_BASE, startFusionSandboxServer, type RunningFusionSandbox } from '../../../src/sandbox/fusion.ts';
import { sandboxOrderIds } from '../../../src/sandbox/om-push.ts';

const AUTH = `Basic ${Buffer.from('omgw.integration:sandbox-fusion-password').toString('base64')}`;

interface SalesOrderLine {
  FulfillLineId: number;
  OrderedQuantity: number;
}
interface SalesOrder {
  OrderKey: string;
  shipToCustomer: Array<Record<string, string>>;
  lines: SalesOrderLine[];
}

describe('sandbox Fusion: sales orders a planner changes', () => {
  let fusion: RunningFusionSandbox;
  before(async () => {
    fusion = await startFusionSandboxServer({ username: 'omgw.integration', password: 'sandbox-fusion-password', linesPerOrder: 2 });
  });
  after(async () => {
    await fusion.close();
  });

  const read = async (orderKey: string): Promise<SalesOrder> => {
    const res = await fetch(`${fusion.url}${FUSION_REST_BASE}/salesOrdersForOrderHub/${encodeURIComponent(orderKey)}?expand=lines`, { headers: { authorization: AUTH } });
    expect(res.status).to.equal(200);
    return (await res.json()) as SalesOrder;
  };
  const revise = (orderKey: string, body: unknown): Promise<Response> =>
    fetch(`${fusion.url}/sales-orders/${encodeURIComponent(orderKey)}`, { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('serves a line at its new quantity and the new ship-to once changed, in process or over HTTP; other orders stay as they were', async () => {
    const lines = sandboxOrderIds({ sourceOrderSystem: 'LEG', sourceOrderNumber: 'SO-R1', lines: 2 }).lines.map((l) => l.fulfillLineId);
    const before = await read('LEG:SO-R1');
    expect(before.lines.map((l) => l.OrderedQuantity)).to.deep.equal([1, 2]);

    fusion.salesOrders.revise('LEG:SO-R1', { quantities: { [lines[1] as string]: 5 } });
    expect((await revise('LEG:SO-R1', { shipTo: { City: 'Alameda', PostalCode: '94501' } })).status).to.equal(204);
    const after = await read('LEG:SO-R1');
    expect(after.lines.map((l) => l.OrderedQuantity)).to.deep.equal([1, 5]);
    expect(after.shipToCustomer[0]).to.deep.include({ City: 'Alameda', PostalCode: '94501', Address1: before.shipToCustomer[0]?.Address1 });
    expect((await read('LEG:SO-R2')).shipToCustomer).to.deep.equal(before.shipToCustomer);
  });

  it('refuses a change it cannot make with 400 and the reason, and without credentials with 401', async () => {
    for (const [body, reason] of [
      [{ quantities: { '300100': -1 } }, 'whole number'],
      [{ quantities: { abc: 2 } }, 'whole number'],
      [{ shipTo: { Planet: 'Mars' } }, 'Planet'],
      [{ colour: 'red' }, 'Unknown fields: colour'],
    ] as const) {
      const res = await revise('LEG:SO-R3', body);
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { detail: string }).detail).to.include(reason);
    }
    expect((await fetch(`${fusion.url}/sales-orders/LEG:SO-R3`, { method: 'POST', body: '{}' })).status).to.equal(401);
    expect((await read('LEG:SO-R3')).lines.map((l) => l.OrderedQuantity)).to.deep.equal([1, 2]);
  });
});
