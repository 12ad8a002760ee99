// @ts-check
/** The gateway instances sharing the database: an instance whose config version differs from the others' did not reload. */
import { call } from '../api.js';
import { age, badge, h, num, replace, row, table, when } from '../dom.js';

export const title = 'Instances';

/** @param {HTMLElement} root */
export async function render(root) {
  /** @type {{ items: any[] }} */
  const { items } = await call('GET', '/instances');
  replace(
    root,
    h('h2', { id: 'view-title' }, title),
    table(
      ['Instance', 'Host', '#PID', 'Version', 'Config', 'State', 'Started', 'Last heartbeat', '#In flight', 'Oldest lease'],
      items.map((i) =>
        row(i.id, i.host, num(i.pid), i.version, h('code', null, i.configVersion), badge(i.state), when(i.startedAt), `${age(i.heartbeatAgeMs)} ago`, num(i.inFlight), i.oldestLeaseAgeMs === null ? '' : age(i.oldestLeaseAgeMs)),
      ),
      'Instances',
    ),
  );
}
