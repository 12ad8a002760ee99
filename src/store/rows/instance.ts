/** The `instances` table's rows and the domain's Instance, both ways (migration 010). */
import type { Instance } from '../../domain/instance.ts';
import type { Row } from './audit.ts';

export interface InstanceRow {
  id: string;
  host: string;
  pid: number | string;
  version: string;
  config_version: string;
  started_at: number | string;
  heartbeat_at: number | string;
  stopped_at: number | string | null;
}

export function instanceRow(i: Instance): Row {
  return {
    id: i.id,
    host: i.host,
    pid: i.pid,
    version: i.version,
    config_version: i.configVersion,
    started_at: i.startedAt,
    heartbeat_at: i.heartbeatAt,
    stopped_at: i.stoppedAt,
  };
}

/** Times and the pid may come back as text (bigint columns on PostgreSQL). */
export function toInstance(row: InstanceRow): Instance {
  return {
    id: row.id,
    host: row.host,
    pid: Number(row.pid),
    version: row.version,
    configVersion: row.config_version,
    startedAt: Number(row.started_at),
    heartbeatAt: Number(row.heartbeat_at),
    stoppedAt: row.stopped_at === null ? null : Number(row.stopped_at),
  };
}
