import { expect } from 'chai';
import { fullBucket, refill, take, type Bucket, type RateLimit } from '../../../src/domain/rate.ts';

const T0 = 1_700_000_000_000;
/** ShipBob's limit: 150 requests per minute → one token every 400 ms. */
const SHIPBOB: RateLimit = { requests: 150, per: 60_000 };

describe('domain/rate', () => {
  describe('refill', () => {
    it('adds requests/per tokens per millisecond', () => {
      expect(refill(SHIPBOB, { tokens: 0, updatedAt: T0 }, T0 + 400)).to.deep.equal({ tokens: 1, updatedAt: T0 + 400 });
      expect(refill(SHIPBOB, { tokens: 10, updatedAt: T0 }, T0 + 4_000)).to.deep.equal({ tokens: 20, updatedAt: T0 + 4_000 });
    });

    it('never fills above the capacity (requests)', () => {
      expect(refill(SHIPBOB, { tokens: 149, updatedAt: T0 }, T0 + 3_600_000)).to.deep.equal({ tokens: 150, updatedAt: T0 + 3_600_000 });
      expect(refill({ requests: 5, per: 1_000 }, { tokens: 50, updatedAt: T0 }, T0).tokens).to.equal(5);
    });

    it('adds nothing and keeps updatedAt when now is earlier', () => {
      expect(refill(SHIPBOB, { tokens: 3, updatedAt: T0 }, T0 - 5_000)).to.deep.equal({ tokens: 3, updatedAt: T0 });
    });
  });

  describe('take', () => {
    it('grants from a full bucket up to the burst size, then refuses', () => {
      let bucket: Bucket = fullBucket(SHIPBOB, T0);
      for (let i = 0; i < 150; i += 1) {
        const r = take(SHIPBOB, bucket, T0);
        expect(r.granted, `take ${i + 1}`).to.equal(true);
        expect(r.retryAt).to.equal(T0);
        bucket = r.bucket;
      }
      expect(bucket.tokens).to.equal(0);
      const refused = take(SHIPBOB, bucket, T0);
      expect(refused.granted).to.equal(false);
      expect(refused.retryAt).to.equal(T0 + 400);
      expect(refused.bucket).to.deep.equal({ tokens: 0, updatedAt: T0 });
    });

    it('grants again at retryAt', () => {
      const empty: Bucket = { tokens: 0, updatedAt: T0 };
      const refused = take(SHIPBOB, empty, T0 + 100);
      expect(refused).to.deep.include({ granted: false, retryAt: T0 + 400 });
      expect(take(SHIPBOB, refused.bucket, T0 + 399).granted).to.equal(false);
      expect(take(SHIPBOB, refused.bucket, T0 + 400).granted).to.equal(true);
    });

    it('retryAt is exact enough across awkward rates', () => {
      const limits: RateLimit[] = [
        { requests: 3, per: 1_000 },
        { requests: 7, per: 10_000 },
        { requests: 150, per: 60_000 },
        { requests: 1, per: 1 },
      ];
      for (const limit of limits) {
        for (const start of [0.1, 0.3, 0.7, 0.33333]) {
          const bucket: Bucket = { tokens: start * Math.min(1, limit.requests), updatedAt: T0 };
          const refused = take(limit, bucket, T0);
          if (refused.granted) continue;
          expect(take(limit, refused.bucket, refused.retryAt).granted, `${limit.requests}/${limit.per} from ${start}`).to.equal(true);
          expect(take(limit, refused.bucket, refused.retryAt - 1).granted, `${limit.requests}/${limit.per} from ${start}, 1 ms early`).to.equal(false);
        }
      }
    });

    it('takes n tokens at once and computes when n will be available', () => {
      const limit: RateLimit = { requests: 10, per: 1_000 };
      const r = take(limit, { tokens: 5, updatedAt: T0 }, T0, 3);
      expect(r).to.deep.equal({ granted: true, bucket: { tokens: 2, updatedAt: T0 }, retryAt: T0 });
      const refused = take(limit, r.bucket, T0, 5);
      expect(refused).to.deep.equal({ granted: false, bucket: { tokens: 2, updatedAt: T0 }, retryAt: T0 + 300 });
    });

    it('refills before taking', () => {
      const r = take({ requests: 10, per: 1_000 }, { tokens: 0, updatedAt: T0 }, T0 + 250);
      expect(r.granted).to.equal(true);
      expect(r.bucket.tokens).to.be.closeTo(1.5, 1e-9);
      expect(r.bucket.updatedAt).to.equal(T0 + 250);
    });

    it('holds the steady rate: 150 per minute over ten minutes', () => {
      let bucket: Bucket = fullBucket(SHIPBOB, T0);
      let granted = 0;
      for (let t = T0; t < T0 + 600_000; t += 100) {
        const r = take(SHIPBOB, bucket, t);
        bucket = r.bucket;
        if (r.granted) granted += 1;
      }
      // The initial burst plus one every 400 ms.
      expect(granted).to.equal(150 + 1_500 - 1);
    });

    it('rejects n above the capacity and negative n', () => {
      expect(() => take({ requests: 5, per: 1_000 }, { tokens: 5, updatedAt: T0 }, T0, 6)).to.throw(RangeError);
      expect(() => take({ requests: 5, per: 1_000 }, { tokens: 5, updatedAt: T0 }, T0, -1)).to.throw(RangeError);
      expect(() => take({ requests: 5, per: 1_000 }, { tokens: 5, updatedAt: T0 }, T0, Number.NaN)).to.throw(RangeError);
    });
  });
});
