import { expect } from 'chai';
import { formatDuration, parseDuration, parseSize } from '../../../src/config/units.ts';

describe('config/units', () => {
  describe('parseDuration', () => {
    const cases: Array<[string, number]> = [
      ['250ms', 250],
      ['0s', 0],
      ['30s', 30_000],
      ['5m', 300_000],
      ['2h', 7_200_000],
      ['7d', 604_800_000],
      ['1.5s', 1_500],
      ['0.5m', 30_000],
      ['10 s', 10_000],
      ['  45s  ', 45_000],
    ];
    for (const [text, ms] of cases) {
      it(`reads "${text}" as ${ms} ms`, () => {
        expect(parseDuration(text)).to.equal(ms);
      });
    }

    it('rounds fractions of a millisecond', () => {
      expect(parseDuration('1.4ms')).to.equal(1);
      expect(parseDuration('0.0015s')).to.equal(2);
    });

    for (const text of ['', '30', 's', '5 minutes', '1w', '-5s', '5s30ms', '1e3ms', 'PT5M', 'five s']) {
      it(`refuses "${text}"`, () => {
        expect(parseDuration(text)).to.equal(null);
      });
    }
  });

  describe('parseSize', () => {
    const cases: Array<[string, number]> = [
      ['1024', 1024],
      ['100b', 100],
      ['512KB', 524_288],
      ['10MB', 10_485_760],
      ['1GB', 1_073_741_824],
      ['10mb', 10_485_760],
      ['2 Kb', 2048],
      ['1.5KB', 1536],
      [' 64 KB ', 65_536],
    ];
    for (const [text, bytes] of cases) {
      it(`reads "${text}" as ${bytes} bytes`, () => {
        expect(parseSize(text)).to.equal(bytes);
      });
    }

    for (const text of ['', 'KB', 'lots', '-1KB', '10TB', '10 MiB', '1,024', '0x400']) {
      it(`refuses "${text}"`, () => {
        expect(parseSize(text)).to.equal(null);
      });
    }
  });

  describe('formatDuration', () => {
    const cases: Array<[number, string]> = [
      [0, '0ms'],
      [250, '250ms'],
      [1_000, '1s'],
      [1_500, '1500ms'],
      [90_000, '90s'],
      [120_000, '2m'],
      [5_400_000, '90m'],
      [3_600_000, '1h'],
      [129_600_000, '36h'],
      [86_400_000, '1d'],
      [604_800_000, '7d'],
    ];
    for (const [ms, text] of cases) {
      it(`writes ${ms} ms as "${text}"`, () => {
        expect(formatDuration(ms)).to.equal(text);
      });
    }

    it('writes what parseDuration reads back to the same number', () => {
      for (const ms of [0, 1, 999, 1_000, 61_000, 300_000, 3_600_000, 93_600_000, 604_800_000]) {
        expect(parseDuration(formatDuration(ms)), String(ms)).to.equal(ms);
      }
    });
  });
});
