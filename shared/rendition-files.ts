// The rendition's file list, as the transcoder writes it at the end
// (keys.renditionFiles) and the publisher reads it for the manifest: the
// storage contract between the two, typed once.

export interface RenditionFile {
  key: string;
  size: number;
  /** null: not known without reading the whole object (audio.m4a joined by S3 itself). */
  sha256: string | null;
  durationSec: number;
}

export interface RenditionFiles {
  segments: RenditionFile[];
  audio: RenditionFile;
}
