// Splits an ADTS byte stream into whole frames, so whoever receives it (a
// listener joining mid-stream, a pusher's new connection) starts on a frame
// boundary, as real encoders and relays do.

/** Feed it bytes; it calls `onFrame` once per whole frame, in order. */
export function adtsFramer(onFrame: (frame: Buffer) => void): (bytes: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (bytes) => {
    pending = Buffer.concat([pending, bytes]);
    let off = 0;
    while (pending.length - off >= 7 && pending[off] === 0xff && (pending[off + 1] & 0xf0) === 0xf0) {
      const len = ((pending[off + 3] & 0x03) << 11) | (pending[off + 4] << 3) | (pending[off + 5] >> 5);
      if (pending.length - off < len) break;
      onFrame(pending.subarray(off, off + len));
      off += len;
    }
    pending = pending.subarray(off);
  };
}
