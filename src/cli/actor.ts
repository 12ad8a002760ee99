import { userInfo } from 'node:os';

/** What cliActor reads of the process: its account (os.userInfo, which throws without a passwd entry) and uid. */
export interface ProcessAccount {
  username: () => string;
  uid: () => number | undefined;
}

const thisProcess: ProcessAccount = {
  username: () => userInfo().username,
  uid: () => process.getuid?.(),
};

/**
 * Who a CLI command acts as, for the audit records: `cli:<user>`. USER when set; else the account
 * the process runs as (cron and containers often start commands without USER); else LOGNAME; else
 * the numeric uid (`cli:uid-1000`, a container user with no passwd entry). Never a placeholder such
 * as "unknown": an audit record must say who it was.
 */
export function cliActor(env: NodeJS.ProcessEnv, account: ProcessAccount = thisProcess): string {
  const set = (v: string | undefined): string | undefined => (v !== undefined && v.trim() !== '' ? v.trim() : undefined);
  let name = set(env.USER);
  if (name === undefined) {
    try {
      name = set(account.username());
    } catch {
      // No passwd entry for this uid (os.userInfo throws): LOGNAME or the uid say who it was.
    }
  }
  name ??= set(env.LOGNAME);
  if (name === undefined) {
    const uid = account.uid();
    // Windows has no uid, but os.userInfo always answers there; the pid at least ties records to one run.
    name = uid !== undefined ? `uid-${uid}` : `pid-${process.pid}`;
  }
  return `cli:${name}`;
}
