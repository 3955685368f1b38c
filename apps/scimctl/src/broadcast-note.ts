/** What a command adds to its human output when its broadcast could not go out now (Redis unreachable). */
export const TOKEN_BROADCAST_NOTE = {
  published: '',
  pending:
    '\n(Redis unreachable: the change is stored; its broadcast is pending and an api replica publishes it when it can. Replicas without the broadcast refuse old tokens within 1 s.)',
} as const;

export const SETTINGS_BROADCAST_NOTE = {
  published: '',
  pending:
    '\n(Redis unreachable: the change is stored; its broadcast is pending and an api replica publishes it when it can, so replicas may act on the old settings until then.)',
} as const;
