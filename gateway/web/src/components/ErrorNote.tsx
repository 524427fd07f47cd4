import { createContext, useContext, useState } from 'react'
import { isConnectionProblem, isStale } from '../api/client'
import { describeError } from '../lib/words'

/** How the screen around an action reloads what it shows (default: the whole page). */
export const ReloadContext = createContext<() => void>(() => window.location.reload())

/** The reason an action failed, in words, beside the action; a retry when it can help,
 * a reload when the write was refused because this tab's copy is stale (412). */
export function ErrorNote({
  error,
  onRetry,
  onReload,
  id,
}: {
  error: unknown
  onRetry?: () => void
  onReload?: () => void
  id?: string
}) {
  const reloadScreen = useContext(ReloadContext)
  const [reloaded, setReloaded] = useState<unknown>(null)
  if (!error || reloaded === error) return null
  return (
    <p className="error-note" role="alert" id={id}>
      <span>{describeError(error)}</span>
      {onRetry && isConnectionProblem(error) ? (
        <button type="button" className="link-button" onClick={onRetry}>
          Retry
        </button>
      ) : null}
      {isStale(error) ? (
        <button
          type="button"
          className="link-button"
          onClick={() => {
            setReloaded(error)
            ;(onReload ?? reloadScreen)()
          }}
        >
          Reload
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
