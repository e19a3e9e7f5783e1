// Which endpoints a message goes to. Svix's rule: disabled endpoints never match; an endpoint with
// an event-type filter needs the message's type in it (no filter means every type); an endpoint
// with channels needs at least one channel in common with the message (a message without channels
// does not match an endpoint that has channels; an endpoint without channels matches all).

export interface Matchable {
  disabled: boolean;
  eventTypes: readonly string[] | null;
  channels: readonly string[] | null;
}

export function endpointMatches(ep: Matchable, eventType: string, channels: readonly string[] | null): boolean {
  if (ep.disabled) return false;
  if (ep.eventTypes && ep.eventTypes.length > 0 && !ep.eventTypes.includes(eventType)) return false;
  if (ep.channels && ep.channels.length > 0) {
    if (!channels?.some((c) => ep.channels!.includes(c))) return false;
  }
  return true;
}
