// Frames between the page and its validator worker over their MessagePort (the data plane; the
// control calls go through comlink). Byte buffers are transferred, not copied.

export type PortFrame =
  | { readonly k: 'data'; readonly peer: string; readonly bytes: Uint8Array }
  | { readonly k: 'open'; readonly peer: string }
  | { readonly k: 'close'; readonly peer: string }
  /** The signaling service says the peer left the room on purpose. */
  | { readonly k: 'left'; readonly peer: string }
  | { readonly k: 'send'; readonly peer: string; readonly bytes: Uint8Array }
  | { readonly k: 'disconnect'; readonly peer: string; readonly reason: string };
