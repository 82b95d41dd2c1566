// A value a panel draws from, held while the panel is off screen. The views that cost the most to
// update (the vote-phase diagram, the ledger) sit below the fold; while nobody can see them they
// keep what they last drew, and they catch up as they come near the viewport. Until they have
// drawn something (the first non-null value) they follow at once, so automation finds their
// elements from the start.

import { untrack } from 'svelte';
import type { Attachment } from 'svelte/attachments';

export class HeldOffScreen<T> {
  /** Whether the element is on screen or within `margin` of it (true until told otherwise). */
  shown = $state(true);
  /** What the panel draws: `read()` while shown, the last value taken while hidden. */
  value: T = $state.raw() as T;

  readonly #margin: string;

  /** Call while a component initialises (it starts an effect). */
  constructor(read: () => T, margin = '200px 0px') {
    this.#margin = margin;
    this.value = read();
    $effect.pre(() => {
      const next = read();
      const drawn = untrack(() => this.value);
      if (this.shown || drawn === null || drawn === undefined) this.value = next;
    });
  }

  /** `{@attach held.attach}` on the panel's element. */
  attach: Attachment<HTMLElement> = (node) => {
    const observer = new IntersectionObserver(
      (entries) => {
        const last = entries.at(-1);
        if (last) this.shown = last.isIntersecting;
      },
      { rootMargin: this.#margin },
    );
    observer.observe(node);
    return () => observer.disconnect();
  };
}
