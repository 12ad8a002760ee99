import { expect } from 'chai';
import { cliActor, type ProcessAccount } from '../../../src/cli/actor.ts';

describe('cliActor: who a CLI command acts as', () => {
  const account = (username: () => string, uid: number | undefined = 1000): ProcessAccount => ({ username, uid: () => uid });
  const noPasswdEntry = (): string => {
    // What os.userInfo throws for a uid without a passwd entry (a container's --user 1000).
    throw Object.assign(new Error('A system error occurred: uv_os_get_passwd returned ENOENT (no such file or directory)'), { code: 'ERR_SYSTEM_ERROR' });
  };

  it('is USER when it is set', () => {
    expect(cliActor({ USER: 'olivia', LOGNAME: 'other' }, account(() => 'root'))).to.equal('cli:olivia');
  });

  it('is the account the process runs as when USER is unset or empty', () => {
    expect(cliActor({}, account(() => 'svc-omgw'))).to.equal('cli:svc-omgw');
    expect(cliActor({ USER: ' ', LOGNAME: 'other' }, account(() => 'svc-omgw'))).to.equal('cli:svc-omgw');
  });

  it('is LOGNAME, then the numeric uid, when the account has no name; never "unknown"', () => {
    expect(cliActor({ LOGNAME: 'oper' }, account(noPasswdEntry))).to.equal('cli:oper');
    expect(cliActor({}, account(noPasswdEntry, 1000))).to.equal('cli:uid-1000');
    expect(cliActor({ LOGNAME: '' }, account(() => '', 0))).to.equal('cli:uid-0');
  });

  it('names the real process without a stand-in', () => {
    expect(cliActor({})).to.match(/^cli:(?!unknown$)\S+$/);
  });
});
