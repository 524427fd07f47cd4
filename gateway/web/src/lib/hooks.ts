import { useCallback, useEffect, useRef, useState, type DependencyList } from 'react'
import { isAbort } from '../api/client'

/** An AbortSignal that fires when the component unmounts: late answers are dropped. */
export function useMountSignal(): AbortSignal {
  const controller = useRef<AbortController | null>(null)
  if (controller.current === null) controller.current = new AbortController()
  useEffect(() => {
    // StrictMode mounts twice in development; give each mount its own controller.
    if (controller.current?.signal.aborted) controller.current = new AbortController()
    const current = controller.current
    return () => current?.abort()
  }, [])
  return controller.current.signal
}

export interface Loaded<T> {
  data: T | null
  error: unknown
  loading: boolean
  reload: () => void
  setData: (update: T | ((previous: T | null) => T)) => void
}

/** Loads on mount and when `deps` change (only then: `load` may be a new closure each
 * render); a superseded or unmounted load is dropped. */
export function useLoader<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): Loaded<T> {
  const [data, setDataState] = useState<T | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [loading, setLoading] = useState(true)
  const [generation, setGeneration] = useState(0)

  useEffect(() => {
    const controller = new AbortController()
    setLoading(true)
    setError(null)
    load(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return
        setDataState(value)
        setLoading(false)
      },
      (failure: unknown) => {
        if (controller.signal.aborted || isAbort(failure)) return
        setError(failure)
        setLoading(false)
      },
    )
    return () => controller.abort()
  }, [...deps, generation])

  const reload = useCallback(() => setGeneration((g) => g + 1), [])
  const setData = useCallback(
    (update: T | ((previous: T | null) => T)) =>
      setDataState((previous) =>
        typeof update === 'function' ? (update as (p: T | null) => T)(previous) : update,
      ),
    [],
  )
  return { data, error, loading, reload, setData }
}

/** Runs one user action at a time and keeps its error beside the button that started it. */
export function useAction(): {
  busy: boolean
  error: unknown
  run: <T>(action: () => Promise<T>) => Promise<T | undefined>
  clear: () => void
} {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const mounted = useRef(true)
  useEffect(() => {
    mounted.current = true
    return () => {
      mounted.current = false
    }
  }, [])
  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true)
    setError(null)
    try {
      return await action()
    } catch (failure) {
      if (!isAbort(failure) && mounted.current) setError(failure)
      return undefined
    } finally {
      if (mounted.current) setBusy(false)
    }
  }, [])
  const clear = useCallback(() => setError(null), [])
  return { busy, error, run, clear }
}
