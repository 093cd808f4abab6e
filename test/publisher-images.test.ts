import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { barHeights, normalizePeaks, renderArtwork, renderSocialCard, socialCardSvg, wrapText } from '../publisher/images.ts';

const peaks: number[] = [];
for (let i = 0; i < 2000; i++) {
  const a = Math.abs(Math.sin(i / 40)) * 0.8;
  peaks.push(-a, a);
}

describe('images', () => {
  it('renders a 1200x630 RGB PNG social card', async () => {
    const png = await renderSocialCard({ title: 'Weekly community call', host: 'Ada', date: '2030-01-02T00:00:00Z', durationSec: 3725, peaks });
    const m = await sharp(png).metadata();
    expect(m).toMatchObject({ format: 'png', width: 1200, height: 630, channels: 3, space: 'srgb' });
    expect(m.hasAlpha).toBe(false);
  });

  it('renders a 3000x3000 RGB JPEG artwork', async () => {
    const jpg = await renderArtwork({
      title: 'Weekly community call',
      host: 'Ada',
      date: new Date('2030-01-02T00:00:00Z'),
    });
    const m = await sharp(jpg).metadata();
    expect(m).toMatchObject({ format: 'jpeg', width: 3000, height: 3000, channels: 3, space: 'srgb' });
    expect(jpg.length).toBeLessThan(1_000_000);
  });

  it('survives hostile and odd titles', async () => {
    const titles = [
      `</text><script>alert(1)</script><text>`,
      `A & B <C> "D" 'E' ]]> <!-- x --> &amp; &#x0;`,
      `control\u0000chars\u0007and\uFFFE lone \uD800 surrogate`,
      'x'.repeat(500),
      '',
      '   ',
      '🎙️ Émission spéciale — 日本語のタイトル — עברית',
    ];
    for (const title of titles) {
      const svg = socialCardSvg({ title, host: `<b>&host</b>`, date: 'not a date', durationSec: NaN, label: '<x>' });
      expect(svg).not.toContain('<script');
      expect(svg).not.toContain('<b>');
      const png = await renderSocialCard({ title, host: '<b>&host</b>', date: 'not a date', label: '<x>' });
      const m = await sharp(png).metadata();
      expect([m.width, m.height]).toEqual([1200, 630]);
    }
    expect(socialCardSvg({ title: '' })).toContain('>Untitled<');
  });

  it('wraps and truncates titles', () => {
    expect(wrapText('one two three', 10_000, 10, 3)).toEqual({ lines: ['one two three'], truncated: false });
    const w = wrapText('alpha beta gamma delta epsilon zeta eta theta', 200, 40, 2);
    expect(w.truncated).toBe(true);
    expect(w.lines).toHaveLength(2);
    expect(w.lines[1].endsWith('…')).toBe(true);
    const long = wrapText('x'.repeat(100), 300, 30, 10);
    expect(long.lines.length).toBeGreaterThan(1);
    expect(long.lines.join('')).toBe('x'.repeat(100));
  });

  it('reads float, int8, int16 and audiowaveform-JSON peaks', () => {
    expect(normalizePeaks([-0.5, 0.5])).toEqual([-0.5, 0.5]);
    expect(normalizePeaks(new Int8Array([-64, 127]))).toEqual([-0.5, 127 / 128]);
    expect(normalizePeaks(new Int16Array([-16384, 16384]))).toEqual([-0.5, 0.5]);
    expect(normalizePeaks({ bits: 8, data: [-64, 64] })).toEqual([-0.5, 0.5]);
    expect(normalizePeaks({ bits: 16, data: [-16384, 16384] })).toEqual([-0.5, 0.5]);
    expect(normalizePeaks([-64, 100])).toEqual([-0.5, 100 / 128]); // plain ints: 8-bit range
    expect(normalizePeaks(undefined)).toEqual([]);
    const h = barHeights([-0.1, 0.1, -0.2, 0.2, -0.4, 0.4, 0, 0], 2);
    expect(h).toEqual([0.5, 1]);
    expect(barHeights([], 10)).toEqual([]);
    expect(barHeights([0, 0, 0, 0], 2)).toEqual([0, 0]);
  });
});
