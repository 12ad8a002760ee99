import { expect } from 'chai';
import { Store } from '../../../src/store/index.ts';
import type { OAuthTokenRepository } from '../../../src/store/tokens.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';

describe(`the OAuth2 token row and its refresh lease (${backendName()})`, () => {
  const T0 = 1_700_000_000_000;
  let database: TestDatabase;
  let stores: Store[];
  let repo: OAuthTokenRepository;
  /** The same database through a second store: another instance. */
  let other: OAuthTokenRepository;
  const tokens = (n: number) => ({ refreshToken: `refresh-${n}`, access: { token: `access-${n}`, fetchedAt: T0 + n, expiresInMs: 3_600_000 } });

  beforeEach(async () => {
    database = createTestDatabase();
    const options = { url: database.url, ...(database.schema ? { schema: database.schema } : {}) };
    stores = [new Store(options), new Store(options)];
    await stores[0]?.migrate();
    repo = (stores[0] as Store).oauthTokens('key-1', { now: () => T0 });
    other = (stores[1] as Store).oauthTokens('key-1', { now: () => T0 });
  });
  afterEach(async () => {
    for (const s of stores) await s.close();
    await database.dispose();
  });

  it('gives the lease to one holder at a time, to its holder again, and to anyone once it ran out', async () => {
    expect(await repo.read('crm')).to.equal(null);
    const taken = await Promise.all([repo.lease('crm', 'a', T0, T0 + 40_000), other.lease('crm', 'b', T0, T0 + 40_000)]);
    expect(taken.filter(Boolean)).to.have.length(1);
    const holder = taken[0] ? 'a' : 'b';
    const [mine, theirs] = holder === 'a' ? [repo, other] : [other, repo];
    const stranger = holder === 'a' ? 'b' : 'a';
    expect(await repo.read('crm')).to.deep.equal({ refreshToken: null, access: null, version: 0, lease: { owner: holder, until: T0 + 40_000 } });
    expect(await theirs.lease('crm', stranger, T0 + 39_999, T0 + 80_000)).to.equal(false);
    expect(await mine.lease('crm', holder, T0 + 10_000, T0 + 50_000)).to.equal(true);
    expect(await theirs.lease('crm', stranger, T0 + 49_999, T0 + 90_000)).to.equal(false);
    expect(await theirs.lease('crm', stranger, T0 + 50_000, T0 + 90_000)).to.equal(true);
    expect((await repo.read('crm'))?.lease).to.deep.equal({ owner: stranger, until: T0 + 90_000 });
  });

  it('saves only over the version it read, and releases only its own lease', async () => {
    await repo.lease('crm', 'a', T0, T0 + 40_000);
    expect(await repo.save('crm', 'a', 0, tokens(1))).to.equal(true);
    expect(await other.read('crm')).to.deep.equal({ refreshToken: 'refresh-1', access: tokens(1).access, version: 1, lease: null });

    // A save over a version that is no longer the newest changes nothing.
    await other.lease('crm', 'b', T0, T0 + 40_000);
    expect(await repo.save('crm', 'a', 0, tokens(2))).to.equal(false);
    expect(await repo.read('crm')).to.include({ refreshToken: 'refresh-1', version: 1 });
    // A holder whose lease ran out still saves a newer token, but the lease taken since stays its taker's.
    expect(await repo.save('crm', 'a', 1, tokens(3))).to.equal(true);
    expect(await repo.read('crm')).to.deep.include({ refreshToken: 'refresh-3', version: 2, lease: { owner: 'b', until: T0 + 40_000 } });
    await repo.release('crm', 'a');
    expect((await repo.read('crm'))?.lease?.owner).to.equal('b');
    await other.release('crm', 'b');
    expect((await repo.read('crm'))?.lease).to.equal(null);
  });

  it('keeps both tokens unreadable under another key, and a token saved under the new key readable', async () => {
    await repo.save('crm', 'a', 0, tokens(1));
    const unreadable: string[] = [];
    const rekeyed = (stores[1] as Store).oauthTokens('key-2', { onUnreadable: (c) => unreadable.push(c) });
    expect(await rekeyed.read('crm')).to.deep.equal({ refreshToken: null, access: null, version: 1, lease: null });
    expect(unreadable).to.deep.equal(['crm']);
    expect(await rekeyed.save('crm', 'b', 1, tokens(2))).to.equal(true);
    expect(await rekeyed.read('crm')).to.include({ refreshToken: 'refresh-2', version: 2 });
  });
});
