// An audiogram's still layer, drawn once per size with sharp: the event's
// artwork blurred and darkened to fill the frame, the artwork itself, the
// clip's title and the host. ffmpeg then only lays the waveform and the
// captions over it, frame after frame (render.ts), instead of decoding and
// converting a full-size picture for every frame.
import sharp from 'sharp';
import { escapeXml } from '../html.ts';
import { wrapText } from '../images.ts';
import { COLOURS, type AudiogramLayout } from './sizes.ts';

export interface BackgroundText {
  title: string;
  host?: string;
  /** A smaller line under the host (the event's title, when the clip has its own). */
  note?: string;
}

const FONT = `'DejaVu Sans', 'Liberation Sans', Arial, sans-serif`;

function textSvg(layout: AudiogramLayout, t: BackgroundText): string {
  const { x, y, width, titleSize, hostSize, titleLines, anchor } = layout.text;
  const { lines, truncated } = wrapText(t.title, width, titleSize, titleLines);
  if (truncated && lines.length) lines[lines.length - 1] = `${lines[lines.length - 1].replace(/\s*\S{0,3}$/, '')}…`;
  const rows: string[] = [];
  let at = y + titleSize;
  for (const line of lines) {
    rows.push(`<text x="${x}" y="${at}" font-size="${titleSize}" font-weight="bold" fill="${COLOURS.text}">${escapeXml(line)}</text>`);
    at += Math.round(titleSize * 1.2);
  }
  at += Math.round(hostSize * 0.6);
  for (const [s, size, colour] of [
    [t.host, hostSize, COLOURS.wave],
    [t.note, Math.round(hostSize * 0.8), '#cbd5e1'],
  ] as const) {
    if (!s) continue;
    const one = wrapText(s, width, size, 1);
    rows.push(`<text x="${x}" y="${at}" font-size="${size}" fill="${colour}">${escapeXml(one.lines[0] ?? '')}${one.truncated ? '…' : ''}</text>`);
    at += Math.round(size * 1.4);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}"><g font-family="${FONT}" text-anchor="${anchor}">${rows.join('')}</g></svg>`;
}

/** The still layer of one size as PNG, from the artwork (any image sharp reads). */
export async function renderBackground(layout: AudiogramLayout, artwork: Buffer, text: BackgroundText): Promise<Buffer> {
  const { width, height, art } = layout;
  const backdrop = await sharp(artwork).resize(width, height, { fit: 'cover' }).blur(40).modulate({ brightness: 0.4 }).toBuffer();
  const thumb = await sharp(artwork).resize(art.size, art.size, { fit: 'cover' }).toBuffer();
  return sharp(backdrop)
    .composite([
      { input: thumb, left: art.x, top: art.y },
      { input: Buffer.from(textSvg(layout, text)), left: 0, top: 0 },
    ])
    .png({ compressionLevel: 1 })
    .toBuffer();
}
