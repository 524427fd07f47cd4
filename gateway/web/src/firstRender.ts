// `flowpilot:first-render` marks when the first screen shows its data; the
// budget command (`python -m bench.web_budget`) reads it with the
// Performance API.
export const FIRST_RENDER_MARK = 'flowpilot:first-render'

export function markFirstRender(): void {
  if (performance.getEntriesByName(FIRST_RENDER_MARK).length === 0) {
    performance.mark(FIRST_RENDER_MARK)
  }
}
