// Interface text in French, English, Swahili and Kirundi. A missing key
// falls back along the language's chain (Kirundi → French → English,
// Swahili → English), so a partial translation never shows a blank.

export const LANGS = [['fr', 'Français'], ['en', 'English'], ['sw', 'Kiswahili'], ['rn', 'Ikirundi']];
const CHAIN = { fr: ['fr', 'en'], en: ['en'], sw: ['sw', 'en'], rn: ['rn', 'fr', 'en'] };

/** The supported language closest to a BCP 47 tag. */
export function pickLang(tag) {
  const base = String(tag || '').toLowerCase().split('-')[0];
  return CHAIN[base] ? base : 'fr';
}

/** Text for `key` in `lang`, with {name} placeholders filled from `vars`. */
export function tr(lang, key, vars) {
  for (const l of CHAIN[lang] ?? CHAIN.en) {
    const s = D[l][key];
    if (s !== undefined) return vars ? s.replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? '') : s;
  }
  return key;
}

const D = {
  en: {
    'app.tagline': 'Border coordination hub · Burundi ⇄ Tanzania',
    'login.username': 'Username', 'login.password': 'Password', 'login.submit': 'Log in',
    'login.bad': 'Wrong username or password.', 'login.disabled': 'This account is disabled.',
    'login.offline': 'The hub cannot be reached. Check the link and try again.',
    'login.expired': 'Your session has ended. Please log in again.',
    'status.online': 'Online', 'status.connecting': 'Connecting…', 'status.held': 'Offline (held)',
    'status.retry': 'Offline — retrying in {s} s', 'status.pending': '{n} pending', 'status.failed': '{n} failed',
    'status.reconnect': 'Reconnect now', 'status.offline': 'Not connected: try again when the link is back.',
    'nav.main': 'Main', 'nav.alerts': 'Alerts', 'nav.sops': 'Procedures', 'nav.channels': 'Channels',
    'nav.posts': 'Post status', 'nav.skip': 'Skip to content', 'nav.logout': 'Log out',
    'role.officer': 'Officer', 'role.coordinator': 'Coordinator', 'role.observer': 'Observer',
    'role.admin': 'Administrator', 'role.auditor': 'Auditor',
    'channel.unknown': 'Unknown channel', 'chat.older': 'Load older messages', 'chat.message': 'Message',
    'chat.placeholder': 'Write a message (Enter to send, Shift+Enter for a new line)', 'chat.send': 'Send',
    'chat.readonly': 'You may read this channel but not write in it.', 'chat.none': 'No channel', 'chat.hub': 'Hub',
    'outbox.pending': 'pending', 'outbox.failed': 'not sent', 'outbox.retry': 'Retry', 'outbox.discard': 'Discard',
    'posts.title': 'Post status', 'posts.post': 'Post', 'posts.country': 'Country', 'posts.status': 'Status',
    'posts.users': 'Connected', 'posts.last_seen': 'Last seen', 'posts.online': 'online', 'posts.dark': 'dark',
    'posts.never': 'never', 'posts.stale': 'Could not refresh: showing nothing newer.', 'posts.updated': 'Updated {time}',
    'feature.missing': 'This hub does not offer this feature yet.',
  },
  fr: {
    'app.tagline': 'Coordination frontalière · Burundi ⇄ Tanzanie',
    'login.username': "Nom d'utilisateur", 'login.password': 'Mot de passe', 'login.submit': 'Se connecter',
    'login.bad': "Nom d'utilisateur ou mot de passe incorrect.", 'login.disabled': 'Ce compte est désactivé.',
    'login.offline': 'Le hub est injoignable. Vérifiez la liaison et réessayez.',
    'login.expired': 'Votre session a pris fin. Reconnectez-vous.',
    'status.online': 'En ligne', 'status.connecting': 'Connexion…', 'status.held': 'Hors ligne (suspendu)',
    'status.retry': 'Hors ligne — nouvel essai dans {s} s', 'status.pending': '{n} en attente', 'status.failed': '{n} en échec',
    'status.reconnect': 'Reconnecter', 'status.offline': 'Non connecté : réessayez quand la liaison sera rétablie.',
    'nav.main': 'Principal', 'nav.alerts': 'Alertes', 'nav.sops': 'Procédures', 'nav.channels': 'Canaux',
    'nav.posts': 'État des postes', 'nav.skip': 'Aller au contenu', 'nav.logout': 'Se déconnecter',
    'role.officer': 'Agent', 'role.coordinator': 'Coordinateur', 'role.observer': 'Observateur',
    'role.admin': 'Administrateur', 'role.auditor': 'Auditeur',
    'channel.unknown': 'Canal inconnu', 'chat.older': 'Messages plus anciens', 'chat.message': 'Message',
    'chat.placeholder': 'Écrire un message (Entrée pour envoyer, Maj+Entrée pour aller à la ligne)', 'chat.send': 'Envoyer',
    'chat.readonly': 'Vous pouvez lire ce canal mais pas y écrire.', 'chat.none': 'Aucun canal', 'chat.hub': 'Hub',
    'outbox.pending': 'en attente', 'outbox.failed': 'non envoyé', 'outbox.retry': 'Réessayer', 'outbox.discard': 'Abandonner',
    'posts.title': 'État des postes', 'posts.post': 'Poste', 'posts.country': 'Pays', 'posts.status': 'État',
    'posts.users': 'Connectés', 'posts.last_seen': 'Vu pour la dernière fois', 'posts.online': 'en ligne', 'posts.dark': 'injoignable',
    'posts.never': 'jamais', 'posts.stale': 'Actualisation impossible : rien de plus récent.', 'posts.updated': 'Mis à jour à {time}',
    'feature.missing': "Ce hub n'offre pas encore cette fonction.",
  },
  sw: {
    'app.tagline': 'Kituo cha uratibu wa mpakani · Burundi ⇄ Tanzania',
    'login.username': 'Jina la mtumiaji', 'login.password': 'Nenosiri', 'login.submit': 'Ingia',
    'login.bad': 'Jina la mtumiaji au nenosiri si sahihi.', 'login.disabled': 'Akaunti hii imezimwa.',
    'login.offline': 'Kituo hakipatikani. Angalia mtandao ujaribu tena.',
    'login.expired': 'Muda wa kikao umeisha. Tafadhali ingia tena.',
    'status.online': 'Mtandaoni', 'status.connecting': 'Inaunganisha…', 'status.held': 'Nje ya mtandao (imesimamishwa)',
    'status.retry': 'Nje ya mtandao — inajaribu tena baada ya sekunde {s}', 'status.pending': '{n} zinasubiri',
    'status.failed': '{n} zimeshindwa', 'status.reconnect': 'Unganisha sasa',
    'status.offline': 'Hakuna muunganisho: jaribu tena mtandao ukirudi.',
    'nav.main': 'Kuu', 'nav.alerts': 'Tahadhari', 'nav.sops': 'Taratibu', 'nav.channels': 'Mazungumzo',
    'nav.posts': 'Hali ya vituo', 'nav.skip': 'Nenda kwenye maudhui', 'nav.logout': 'Toka',
    'role.officer': 'Afisa', 'role.coordinator': 'Mratibu', 'role.observer': 'Mtazamaji',
    'role.admin': 'Msimamizi', 'role.auditor': 'Mkaguzi',
    'chat.older': 'Jumbe za zamani', 'chat.message': 'Ujumbe', 'chat.send': 'Tuma',
    'chat.placeholder': 'Andika ujumbe (Enter kutuma)', 'chat.readonly': 'Unaweza kusoma tu hapa.',
    'outbox.pending': 'inasubiri', 'outbox.failed': 'haikutumwa', 'outbox.retry': 'Jaribu tena', 'outbox.discard': 'Acha',
    'posts.title': 'Hali ya vituo', 'posts.post': 'Kituo', 'posts.country': 'Nchi', 'posts.status': 'Hali',
    'posts.users': 'Waliounganishwa', 'posts.last_seen': 'Mara ya mwisho', 'posts.online': 'mtandaoni', 'posts.dark': 'hakipatikani',
    'posts.never': 'hakijawahi', 'posts.updated': 'Imesasishwa {time}',
  },
  rn: {
    'app.tagline': "Ihuriro ry'imbibe · Uburundi ⇄ Tanzaniya",
    'login.username': "Izina ry'ukoresha", 'login.password': 'Ijambo ry’ibanga', 'login.submit': 'Injira',
    'status.online': 'Ku murongo', 'status.connecting': 'Birahuza…', 'nav.alerts': 'Imenyesha',
    'nav.channels': 'Ibiganiro', 'nav.logout': 'Sohoka', 'chat.send': 'Rungika', 'outbox.pending': 'birarindiriye',
  },
};
