// One inline script-builder session serves every fix of an AI session (the
// seed's one row per user and AI session), and it holds one editor buffer. So
// that switching between two fixes never hands one fix's draft to the other,
// nor loses it, this browser remembers which fix the saved buffer belongs to
// and keeps another fix's buffer aside (localStorage) when a fix takes the
// session over; it comes back when that fix is drafted again.
import type { BuilderSession, EditorMode } from '../api/types'

const KEY = 'flowpilot.inline-drafts'

interface Draft {
  buffer: string
  mode: EditorMode
}

interface Stored {
  /** builder session id → the fix its server-side buffer belongs to */
  owner: Record<string, string>
  /** `${builder session id}/${fix id}` → that fix's draft, kept aside */
  aside: Record<string, Draft>
}

function read(): Stored {
  try {
    const parsed = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Stored | null
    if (parsed && typeof parsed === 'object' && parsed.owner && parsed.aside) return parsed
  } catch {
    // unreadable: start again
  }
  return { owner: {}, aside: {} }
}

function write(stored: Stored): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(stored))
  } catch {
    // storage full or refused: the draft still lives on the server
  }
}

/**
 * The draft to show for `fixId` in `session`, and whether it differs from what the
 * server holds (then the caller saves it). Marks `fixId` as the buffer's owner.
 */
export function claimDraft(session: BuilderSession, fixId: string): Draft & { replaced: boolean } {
  const stored = read()
  const owner = stored.owner[session.id]
  const current: Draft = { buffer: session.editor_buffer, mode: session.mode === 'editor' ? 'editor' : 'ai' }
  stored.owner[session.id] = fixId
  if (!owner || owner === fixId) {
    write(stored)
    return { ...current, replaced: false }
  }
  if (current.buffer.trim() !== '') stored.aside[`${session.id}/${owner}`] = current
  const mine = stored.aside[`${session.id}/${fixId}`] ?? { buffer: '', mode: 'ai' }
  delete stored.aside[`${session.id}/${fixId}`]
  write(stored)
  return { ...mine, replaced: mine.buffer !== current.buffer || mine.mode !== current.mode }
}

/** The fix's draft is done (submitted): nothing to keep aside for it. */
export function forgetDraft(sessionId: string, fixId: string): void {
  const stored = read()
  delete stored.aside[`${sessionId}/${fixId}`]
  write(stored)
}

let inFlight: Promise<unknown> = Promise.resolve()

/** Tracks a draft save, so that the next fix to take the session over waits for it
 * (else a late save of the previous fix's buffer could land after the new fix's). */
export function trackSave<T>(save: Promise<T>): Promise<T> {
  const previous = inFlight
  inFlight = Promise.allSettled([previous, save])
  return save
}

/** Resolves once every tracked save has landed (or failed). */
export function savesSettled(): Promise<unknown> {
  return inFlight
}
