import { isConnectionProblem } from '../api/client'
import { describeError } from '../lib/words'

/** The reason an action failed, in words, beside the action; a retry when it can help. */
export function ErrorNote({
  error,
  onRetry,
  id,
}: {
  error: unknown
  onRetry?: () => void
  id?: string
}) {
  if (!error) return null
  return (
    <p className="error-note" role="alert" id={id}>
      <span>{describeError(error)}</span>
      {onRetry && isConnectionProblem(error) ? (
        <button type="button" className="link-button" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </p>
  )
}

/** What a screen shows when its data could not be loaded: never a blank page. */
export function LoadFailed({
  error,
  onRetry,
  what,
}: {
  error: unknown
  onRetry: () => void
  what: string
}) {
  return (
    <div className="load-failed" role="alert">
      <h2>Could not load {what}</h2>
      <p>{describeError(error)}</p>
      <button type="button" className="primary" onClick={onRetry}>
        Retry
      </button>
    </div>
  )
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  )
}
