// What the console says: error reasons, statuses and audit events in words.
import { ApiError, ConnectionError } from '../api/client'
import type { FixEvent, FixStatus, JsonValue, Language, SuggestedFix } from '../api/types'

/** A write refused with 412: another tab (or person) changed it since this tab read it. */
export const STALE_WRITE = 'This changed in another tab — reload to see it. Nothing was saved.'

const REASONS: Record<string, string> = {
  SCRIPT_BUILDER_SESSION_CAP:
    'You already have 5 Script Builder sessions, the most allowed. Delete one to start another.',
  FIX_TERMINAL: 'This fix is finished (worked, failed or dismissed); it cannot change any more.',
  NOTHING_TO_RUN: 'This fix has neither a drafted script nor a template yet. Draft a script first.',
  NO_DRAFTED_SCRIPT: 'This fix has no drafted script yet. Draft one in the Script Builder first.',
  NOT_APPLIED: 'Nothing was run yet, so there is no outcome to record.',
  PARTIAL_TO_PARTIAL: 'This fix is already recorded as partial.',
  ALREADY_APPLIED: 'This fix was already run; record how it went instead of dismissing it.',
  SESSION_NOT_ACTIVE: 'This session is resolved or escalated; its fixes can no longer change.',
  FIX_OUTCOME_REQUIRED: 'Say how each applied fix went before escalating.',
  FIX_OUTCOME_NOT_APPLICABLE: 'One of the choices is for a fix that was never run.',
  NEVER_APPLIED_NOT_ALLOWED: 'A partially applied fix was run; "Never actually applied it" does not fit.',
  NOTES_REQUIRED: 'Notes are required: say what was applied and what was not.',
  SCRIPT_EMPTY: 'The script is empty.',
  SCRIPT_TOO_LONG: 'The script is longer than 50,000 characters.',
  FIELD_EMPTY: 'This field cannot be empty.',
  FIELD_TOO_LONG: 'This text is too long.',
  INVALID_CHARACTERS: 'The text contains a NUL character, which cannot be stored.',
  MISSING_PARAMETER: 'A required parameter has no value.',
  UNKNOWN_PARAMETER: 'A value was given for a parameter the template does not have.',
  INVALID_PARAMETER_VALUE: 'A parameter value does not fit its type or choices.',
  NO_SCRIPT_TO_SAVE: 'There is no script to save yet: ask the drafter for one first.',
  NOT_TEMPLATE_CREATOR: 'Only the engineer who made this template, or an admin, can publish it.',
  ROLE_CANNOT_WRITE: 'Your role can read but not change anything.',
  AI_SESSION_NOT_FOUND: 'This AI session does not exist, or it is not yours.',
  FIX_NOT_FOUND: 'This fix does not exist any more.',
  SCRIPT_TEMPLATE_NOT_FOUND: 'This template does not exist, or it belongs to another account.',
  FIXES_SERVICE_UNAVAILABLE: 'The fixes service is not answering. Try again in a moment.',
  DRAFTER_UNAVAILABLE: 'The AI drafter is not answering. Try again in a moment.',
  DRAFTER_TIMEOUT: 'The AI drafter took too long to answer. Try again.',
  DRAFTER_BAD_RESPONSE: 'The AI drafter answered with something unreadable. Try again.',
  ETAG_MISMATCH: STALE_WRITE,
  INVALID_ETAG: 'The console sent a version tag FlowPilot does not know. Reload the page.',
  UNDECLARED_PARAMETER: 'The script uses a {{placeholder}} that has no parameter.',
  UNUSED_PARAMETER: 'A parameter is declared that the script does not use.',
  DUPLICATE_PARAMETER: 'Two parameters have the same name.',
  INVALID_PARAMETER_NAME: 'A parameter name must be a letter or _ followed by letters, digits or _ (at most 64).',
  INVALID_DEFAULT: 'A default value does not fit its parameter’s type or choices.',
  TEMPLATE_LANGUAGE_MISMATCH: 'That template is written in another language than the fix.',
  SCRIPT_BUILDER_UNAVAILABLE: 'The Script Builder is not answering. Try again in a moment.',
  TOO_MANY_WATCHES: 'You have too many FlowPilot tabs open on live sessions; this one refreshes every few seconds instead.',
  WATCH_UNAVAILABLE: 'Live updates are not available right now; the page refreshes every few seconds instead.',
  WATCH_INTERRUPTED: 'Live updates were interrupted; reconnecting.',
}

/** A sentence for any error the console can meet. */
export function describeError(error: unknown): string {
  if (error instanceof ConnectionError) return 'The connection to FlowPilot was lost.'
  if (error instanceof ApiError) {
    const known = error.reason ? REASONS[error.reason] : undefined
    if (error.reason === 'FIELD_TOO_LONG' && error.metadata.max_chars) {
      return `This text is too long (at most ${error.metadata.max_chars} characters).`
    }
    if (known) return known
    if (error.status === 412) return STALE_WRITE
    if (error.status === 403) return 'You are not allowed to do that.'
    if (error.status === 404) return 'Not found: it may have been deleted, or it is not yours.'
    if (error.retryable) return 'FlowPilot is not answering right now. Try again in a moment.'
    return sentence(error.message)
  }
  if (error instanceof Error) return sentence(error.message)
  return 'Something went wrong.'
}

function sentence(text: string): string {
  const trimmed = text.trim()
  if (!trimmed) return 'Something went wrong.'
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1)
  return /[.!?]$/.test(capital) ? capital : `${capital}.`
}

export const STATUS_LABEL: Record<FixStatus, string> = {
  proposed: 'Proposed',
  applied_success: 'Worked',
  applied_failed: 'Did not work',
  applied_partial: 'Partial',
  dismissed: 'Dismissed',
}

export function fixStateLabel(fix: SuggestedFix): string {
  if (fix.banner_mode === 'verifying') return 'Verifying'
  if (fix.banner_mode === 'frozen') return 'Frozen'
  return STATUS_LABEL[fix.status]
}

export const LANGUAGE_LABEL: Record<Language, string> = {
  powershell: 'PowerShell',
  bash: 'Bash',
  python: 'Python',
}

const OUTCOME_WORDS: Record<string, string> = {
  applied_success: 'it worked',
  applied_failed: 'it did not work',
  applied_partial: 'partially applied',
  never_applied: 'never actually applied',
}

const DECISION_WORDS: Record<string, string> = {
  one_off: '"Run now, no template"',
  draft_template: '"Run now, templatize after"',
  build_template: '"Just open the builder"',
}

function text(value: JsonValue | undefined): string {
  return value === undefined || value === null ? '' : String(value)
}

/** One line of the session's timeline. */
export function describeEvent(event: FixEvent, fixTitle: string): string {
  const d = event.details ?? {}
  const who = event.actor_user_id
  switch (event.action) {
    case 'created':
      return `The AI proposed “${fixTitle}”.`
    case 'script_updated':
      return `${who} attached a drafted script to “${fixTitle}”.`
    case 'applied':
      return `${who} ran “${fixTitle}” (✓ I ran this).`
    case 'script_decision_recorded':
      return `${who} chose ${DECISION_WORDS[text(d.decision)] ?? text(d.decision)} for “${fixTitle}”.`
    case 'outcome_recorded': {
      const notes = text(d.notes)
      return `${who} recorded that “${fixTitle}”: ${OUTCOME_WORDS[text(d.outcome)] ?? text(d.outcome)}${notes ? ` (${notes})` : ''}.`
    }
    case 'dismissed':
      return `${who} dismissed “${fixTitle}”.`
    case 'outcome_proposed':
      return `The AI suggests that “${fixTitle}”: ${OUTCOME_WORDS[text(d.outcome)] ?? text(d.outcome)}.`
    case 'outcome_proposal_cleared':
      return `The AI's outcome suggestion for “${fixTitle}” was cleared.`
    case 'resolve_auto_success':
      return `Resolving the session recorded that “${fixTitle}” worked.`
    case 'session_resolved':
      return `${who} resolved the session.`
    case 'session_escalated': {
      const reason = text(d.reason)
      return `${who} escalated the session${reason ? `: ${reason}` : ''}.`
    }
    case 'escalation_outcome':
      return `Escalating recorded that “${fixTitle}”: ${OUTCOME_WORDS[text(d.choice)] ?? text(d.choice ?? d.outcome)}.`
    default:
      return `${who}: ${String(event.action)} on “${fixTitle}”.`
  }
}

export function formatTime(iso: string | null): string {
  if (!iso) return ''
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return date.toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  })
}
