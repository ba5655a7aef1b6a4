"""The words of every message in Dutch, English and French (plain words, short sentences).

Templates look them up with `t("key", name=...)`; the values are plain text (the HTML
templates escape them). Dutch is the fallback for a language we do not have.
"""
from __future__ import annotations

from datetime import datetime

from kernel.config import CENTRE_TIMEZONE

LANGUAGES = ("nl", "en", "fr")
DEFAULT_LANGUAGE = "nl"

STRINGS: dict[str, dict[str, str]] = {
    "nl": {
        "centre": "het Steunpunt",
        "greeting": "Hallo {name},",
        "greeting_anonymous": "Hallo,",
        "sign_off": "Met vriendelijke groeten,",
        "when": "Wanneer",
        "where": "Waar",
        "online": "Online, via deze link",
        "time_range_same_day": "{day} van {start} tot {end}",
        "time_range": "van {start} tot {end}",
        "at": "om",
        "calendar_note": "In de bijlage zit een agenda-item (.ics). Open het om de activiteit in je agenda te zetten.",
        "cancel_intro": "Kan je toch niet komen? Schrijf je dan uit. Zo geven we je plaats aan iemand anders.",
        "cancel_link": "Schrijf me uit",
        "footer_participant": "Je krijgt deze e-mail omdat je je inschreef voor een activiteit van het Steunpunt.",
        "footer_staff": "Automatisch bericht van het platform van het Steunpunt.",
        "questions": "Vragen? Antwoord gewoon op deze e-mail.",
        # registration_confirmed
        "registration_confirmed.subject": "Je bent ingeschreven: {title}",
        "registration_confirmed.lead": "Je bent ingeschreven voor {title}. We kijken ernaar uit je te zien.",
        # waitlisted
        "waitlisted.subject": "Je staat op de wachtlijst: {title}",
        "waitlisted.lead": "{title} is volzet. Je staat op de wachtlijst.",
        "waitlisted.position": "Je plaats op de wachtlijst: {position}.",
        "waitlisted.next": "Komt er een plaats vrij? Dan schrijven we je vanzelf in en krijg je een e-mail.",
        "waitlisted.cancel_intro": "Wil je niet meer op de wachtlijst staan? Schrijf je dan uit.",
        # promoted
        "promoted.subject": "Er is een plaats vrij: je bent ingeschreven voor {title}",
        "promoted.lead": "Goed nieuws: er is een plaats vrijgekomen. Je bent nu ingeschreven voor {title}.",
        # registration_cancelled
        "registration_cancelled.subject": "Je inschrijving is geannuleerd: {title}",
        "registration_cancelled.lead": "Je inschrijving voor {title} is geannuleerd.",
        "registration_cancelled.next": "Was dat niet de bedoeling? Schrijf je dan opnieuw in op onze website.",
        # activity_cancelled
        "activity_cancelled.subject": "Afgelast: {title}",
        "activity_cancelled.lead": "Het spijt ons: {title} gaat niet door.",
        "activity_cancelled.reason": "Waarom: {reason}",
        "activity_cancelled.next": "Je inschrijving vervalt. Je hoeft niets te doen.",
        # activity_moved
        "activity_moved.subject": "Nieuwe datum: {title}",
        "activity_moved.lead": "{title} vindt op een ander moment plaats. Hieronder staat de nieuwe datum.",
        "activity_moved.calendar_note": "In de bijlage zit het aangepaste agenda-item (.ics).",
        "activity_moved.cancel_intro": "Kan je niet op de nieuwe datum? Schrijf je dan uit.",
        # reminder
        "reminder.subject": "Herinnering: {title} begint op {date}",
        "reminder.lead": "Binnenkort begint {title}. Hier is alles nog eens op een rij.",
        # evaluation_invitation
        "evaluation_invitation.subject": "Wat vond je van {title}?",
        "evaluation_invitation.lead": "Bedankt dat je deelnam aan {title}.",
        "evaluation_invitation.ask": "Wil je ons in een paar minuten zeggen wat je ervan vond? Zo kunnen we beter doen.",
        "evaluation_invitation.link": "Geef je mening",
        # evaluation_reminder
        "evaluation_reminder.subject": "Herinnering: wat vond je van {title}?",
        "evaluation_reminder.lead": "Een tijdje geleden vroegen we je wat je vond van {title}. We hebben je antwoord nog niet gekregen.",
        "evaluation_reminder.ask": "Het duurt maar een paar minuten. Je antwoord helpt ons om beter te doen.",
        # evaluation_midway
        "evaluation_midway.subject": "Halfweg {title}: hoe gaat het?",
        "evaluation_midway.lead": "{title} is halfweg. Hoe vind je het tot nu toe?",
        "evaluation_midway.ask": "Zeg het ons in een paar minuten. Zo kunnen we de rest van het traject nog beter maken.",
        # kpi_alert
        "kpi_alert.subject.breached": "Alarm: kengetal {kpi} ({scope}) voorbij de drempel",
        "kpi_alert.subject.recovered": "Opgelost: kengetal {kpi} ({scope}) is weer in orde",
        "kpi_alert.breached": "Het kengetal {kpi} ({scope}) staat op {value}. De drempel is {threshold}.",
        "kpi_alert.recovered": "Het kengetal {kpi} ({scope}) is weer in orde: {value} (drempel {threshold}).",
        # request_acknowledgement (the request desk)
        "footer_requester": "Je krijgt deze e-mail omdat je het Steunpunt om ondersteuning vroeg.",
        "request_acknowledgement.subject": "We hebben je vraag ontvangen",
        "request_acknowledgement.lead": "Bedankt voor je vraag aan het Steunpunt. We hebben ze goed ontvangen.",
        "request_acknowledgement.answer_within": "Binnen {days} werkdagen krijg je een antwoord van ons.",
        "request_acknowledgement.answer_within_one": "Binnen 1 werkdag krijg je een antwoord van ons.",
        "request_acknowledgement.next": "Een medewerker bekijkt je vraag en neemt dan contact met je op.",
        # request_declined
        "request_declined.subject": "Antwoord op je vraag aan het Steunpunt",
        "request_declined.lead": "Bedankt voor je vraag. We hebben ze goed bekeken. Het spijt ons: we kunnen je er zelf niet mee helpen.",
        "request_declined.reason.outside_expertise": "Je vraag valt buiten onze expertise.",
        "request_declined.reason.no_capacity": "We hebben nu niet genoeg tijd of mensen om je goed te helpen.",
        "request_declined.reason.long_term_coaching": "Je vraag vraagt om een lange begeleiding. Die kunnen wij niet geven.",
        "request_declined.reason.out_of_scope": "Je vraag past niet bij de opdracht van het Steunpunt.",
        "request_declined.reason.other": "We kunnen je vraag om een andere reden niet opnemen. We leggen je graag uit waarom.",
        "request_declined.referral": "We verwijzen je door naar {referred_to}. Zij kunnen je beter helpen.",
        # request_overdue (staff: a request without an answer in time)
        "request_overdue.subject": "Vraag zonder antwoord: ontvangen op {received}",
        "request_overdue.lead": "Een vraag om ondersteuning, ontvangen op {received}, kreeg nog geen antwoord. We beloven een antwoord binnen {days} werkdagen; de laatste dag was {last_day}.",
        "request_overdue.lead_no_term": "Een vraag om ondersteuning, ontvangen op {received}, kreeg nog geen antwoord.",
        "request_overdue.assigned": "De vraag staat op jouw naam.",
        "request_overdue.unassigned": "Nog niemand heeft de vraag opgenomen.",
        "request_overdue.next": "Neem zo snel mogelijk contact op met de aanvrager, of geef de vraag aan een collega.",
        "request_overdue.reference": "Nummer van de vraag: {request_id}",
        "request_overdue.link": "De vraag op de balie",
        # ops_alert (on-call: an alert of Alertmanager)
        "ops_alert.subject.firing": "Alarm: {alertname}",
        "ops_alert.subject.resolved": "Opgelost: {alertname}",
        "ops_alert.firing": "Het alarm {alertname} gaat af sinds {since}.",
        "ops_alert.resolved": "Het alarm {alertname} is opgelost. Het ging af sinds {since}.",
        "ops_alert.labels": "Details",
        "ops_alert.runbook": "Wat te doen",
    },
    "en": {
        "centre": "the Support Centre",
        "greeting": "Hello {name},",
        "greeting_anonymous": "Hello,",
        "sign_off": "Kind regards,",
        "when": "When",
        "where": "Where",
        "online": "Online, with this link",
        "time_range_same_day": "{day} from {start} to {end}",
        "time_range": "from {start} to {end}",
        "at": "at",
        "calendar_note": "The attachment is a calendar item (.ics). Open it to add the activity to your calendar.",
        "cancel_intro": "Can you not come after all? Please cancel, so we can give your place to someone else.",
        "cancel_link": "Cancel my registration",
        "footer_participant": "You get this email because you registered for an activity of the Support Centre.",
        "footer_staff": "Automatic message from the Support Centre's platform.",
        "questions": "Questions? Just reply to this email.",
        "registration_confirmed.subject": "You are registered: {title}",
        "registration_confirmed.lead": "You are registered for {title}. We look forward to seeing you.",
        "waitlisted.subject": "You are on the waiting list: {title}",
        "waitlisted.lead": "{title} is full. You are on the waiting list.",
        "waitlisted.position": "Your place on the waiting list: {position}.",
        "waitlisted.next": "If a place becomes free, we register you and send you an email.",
        "waitlisted.cancel_intro": "Do you no longer want to be on the waiting list? Then cancel.",
        "promoted.subject": "A place is free: you are registered for {title}",
        "promoted.lead": "Good news: a place became free. You are now registered for {title}.",
        "registration_cancelled.subject": "Your registration is cancelled: {title}",
        "registration_cancelled.lead": "Your registration for {title} is cancelled.",
        "registration_cancelled.next": "Was that a mistake? Then register again on our website.",
        "activity_cancelled.subject": "Cancelled: {title}",
        "activity_cancelled.lead": "We are sorry: {title} will not take place.",
        "activity_cancelled.reason": "Why: {reason}",
        "activity_cancelled.next": "Your registration ends. You do not have to do anything.",
        "activity_moved.subject": "New date: {title}",
        "activity_moved.lead": "{title} moves to another time. The new date is below.",
        "activity_moved.calendar_note": "The attachment is the updated calendar item (.ics).",
        "activity_moved.cancel_intro": "Can you not come on the new date? Then please cancel.",
        "reminder.subject": "Reminder: {title} starts on {date}",
        "reminder.lead": "{title} starts soon. Here is everything once more.",
        "evaluation_invitation.subject": "What did you think of {title}?",
        "evaluation_invitation.lead": "Thank you for taking part in {title}.",
        "evaluation_invitation.ask": "Can you tell us in a few minutes what you thought of it? It helps us do better.",
        "evaluation_invitation.link": "Give your opinion",
        # evaluation_reminder
        "evaluation_reminder.subject": "Reminder: what did you think of {title}?",
        "evaluation_reminder.lead": "A while ago we asked you what you thought of {title}. We have not received your answer yet.",
        "evaluation_reminder.ask": "It only takes a few minutes. Your answer helps us do better.",
        # evaluation_midway
        "evaluation_midway.subject": "Halfway through {title}: how is it going?",
        "evaluation_midway.lead": "{title} is halfway. What do you think of it so far?",
        "evaluation_midway.ask": "Tell us in a few minutes. It helps us make the rest of the track even better.",
        "kpi_alert.subject.breached": "Alert: KPI {kpi} ({scope}) crossed its threshold",
        "kpi_alert.subject.recovered": "Resolved: KPI {kpi} ({scope}) is back to normal",
        "kpi_alert.breached": "The KPI {kpi} ({scope}) is at {value}. The threshold is {threshold}.",
        "kpi_alert.recovered": "The KPI {kpi} ({scope}) is back to normal: {value} (threshold {threshold}).",
        "footer_requester": "You get this email because you asked the Support Centre for support.",
        "request_acknowledgement.subject": "We have received your request",
        "request_acknowledgement.lead": "Thank you for your request to the Support Centre. We have received it.",
        "request_acknowledgement.answer_within": "You will get an answer from us within {days} working days.",
        "request_acknowledgement.answer_within_one": "You will get an answer from us within 1 working day.",
        "request_acknowledgement.next": "A colleague will look at your question and then contact you.",
        "request_declined.subject": "Our answer to your request to the Support Centre",
        "request_declined.lead": "Thank you for your request. We looked at it carefully. We are sorry: we cannot help you with it ourselves.",
        "request_declined.reason.outside_expertise": "Your question is outside our expertise.",
        "request_declined.reason.no_capacity": "Right now we do not have enough time or people to help you well.",
        "request_declined.reason.long_term_coaching": "Your question needs long-term coaching. We cannot offer that.",
        "request_declined.reason.out_of_scope": "Your question does not fit the mission of the Support Centre.",
        "request_declined.reason.other": "We cannot take on your question for another reason. We are glad to explain why.",
        "request_declined.referral": "We refer you to {referred_to}. They are better placed to help you.",
        "request_overdue.subject": "Request without an answer: received on {received}",
        "request_overdue.lead": "A request for support, received on {received}, has not been answered yet. We promise an answer within {days} working days; the last day was {last_day}.",
        "request_overdue.lead_no_term": "A request for support, received on {received}, has not been answered yet.",
        "request_overdue.assigned": "The request is assigned to you.",
        "request_overdue.unassigned": "Nobody has taken the request yet.",
        "request_overdue.next": "Please contact the requester as soon as you can, or hand the request to a colleague.",
        "request_overdue.reference": "Request number: {request_id}",
        "request_overdue.link": "The request on the desk",
        "ops_alert.subject.firing": "Alert: {alertname}",
        "ops_alert.subject.resolved": "Resolved: {alertname}",
        "ops_alert.firing": "The alert {alertname} is firing since {since}.",
        "ops_alert.resolved": "The alert {alertname} is resolved. It was firing since {since}.",
        "ops_alert.labels": "Details",
        "ops_alert.runbook": "What to do",
    },
    "fr": {
        "centre": "le Centre d'appui",
        "greeting": "Bonjour {name},",
        "greeting_anonymous": "Bonjour,",
        "sign_off": "Bien cordialement,",
        "when": "Quand",
        "where": "Où",
        "online": "En ligne, avec ce lien",
        "time_range_same_day": "{day} de {start} à {end}",
        "time_range": "du {start} au {end}",
        "at": "à",
        "calendar_note": "La pièce jointe est un rendez-vous (.ics). Ouvrez-la pour ajouter l'activité à votre agenda.",
        "cancel_intro": "Vous ne pouvez pas venir ? Désinscrivez-vous : nous donnerons votre place à quelqu'un d'autre.",
        "cancel_link": "Me désinscrire",
        "footer_participant": "Vous recevez cet e-mail parce que vous vous êtes inscrit(e) à une activité du Centre d'appui.",
        "footer_staff": "Message automatique de la plateforme du Centre d'appui.",
        "questions": "Des questions ? Répondez simplement à cet e-mail.",
        "registration_confirmed.subject": "Votre inscription est confirmée : {title}",
        "registration_confirmed.lead": "Vous êtes inscrit(e) à {title}. Nous nous réjouissons de vous voir.",
        "waitlisted.subject": "Vous êtes sur la liste d'attente : {title}",
        "waitlisted.lead": "{title} est complet. Vous êtes sur la liste d'attente.",
        "waitlisted.position": "Votre place sur la liste d'attente : {position}.",
        "waitlisted.next": "Si une place se libère, nous vous inscrivons et vous envoyons un e-mail.",
        "waitlisted.cancel_intro": "Vous ne voulez plus être sur la liste d'attente ? Désinscrivez-vous.",
        "promoted.subject": "Une place s'est libérée : vous êtes inscrit(e) à {title}",
        "promoted.lead": "Bonne nouvelle : une place s'est libérée. Vous êtes maintenant inscrit(e) à {title}.",
        "registration_cancelled.subject": "Votre inscription est annulée : {title}",
        "registration_cancelled.lead": "Votre inscription à {title} est annulée.",
        "registration_cancelled.next": "C'était une erreur ? Inscrivez-vous à nouveau sur notre site.",
        "activity_cancelled.subject": "Annulé : {title}",
        "activity_cancelled.lead": "Nous sommes désolés : {title} n'aura pas lieu.",
        "activity_cancelled.reason": "Pourquoi : {reason}",
        "activity_cancelled.next": "Votre inscription prend fin. Vous n'avez rien à faire.",
        "activity_moved.subject": "Nouvelle date : {title}",
        "activity_moved.lead": "{title} change de date. Voici la nouvelle date.",
        "activity_moved.calendar_note": "La pièce jointe est le rendez-vous mis à jour (.ics).",
        "activity_moved.cancel_intro": "Vous ne pouvez pas venir à la nouvelle date ? Désinscrivez-vous.",
        "reminder.subject": "Rappel : {title} commence le {date}",
        "reminder.lead": "{title} commence bientôt. Voici encore une fois toutes les informations.",
        "evaluation_invitation.subject": "Qu'avez-vous pensé de {title} ?",
        "evaluation_invitation.lead": "Merci d'avoir participé à {title}.",
        "evaluation_invitation.ask": "Pouvez-vous nous dire en quelques minutes ce que vous en avez pensé ? Cela nous aide à faire mieux.",
        "evaluation_invitation.link": "Donner mon avis",
        # evaluation_reminder
        "evaluation_reminder.subject": "Rappel : qu'avez-vous pensé de {title} ?",
        "evaluation_reminder.lead": "Il y a quelque temps, nous vous avons demandé ce que vous avez pensé de {title}. Nous n'avons pas encore reçu votre réponse.",
        "evaluation_reminder.ask": "Cela ne prend que quelques minutes. Votre réponse nous aide à faire mieux.",
        # evaluation_midway
        "evaluation_midway.subject": "À mi-parcours de {title} : comment ça se passe ?",
        "evaluation_midway.lead": "{title} est à mi-parcours. Qu'en pensez-vous jusqu'ici ?",
        "evaluation_midway.ask": "Dites-le-nous en quelques minutes. Cela nous aide à rendre la suite du parcours encore meilleure.",
        "kpi_alert.subject.breached": "Alerte : l'indicateur {kpi} ({scope}) a franchi son seuil",
        "kpi_alert.subject.recovered": "Résolu : l'indicateur {kpi} ({scope}) est revenu à la normale",
        "kpi_alert.breached": "L'indicateur {kpi} ({scope}) est à {value}. Le seuil est {threshold}.",
        "kpi_alert.recovered": "L'indicateur {kpi} ({scope}) est revenu à la normale : {value} (seuil {threshold}).",
        "footer_requester": "Vous recevez cet e-mail parce que vous avez demandé un soutien au Centre d'appui.",
        "request_acknowledgement.subject": "Nous avons bien reçu votre demande",
        "request_acknowledgement.lead": "Merci pour votre demande au Centre d'appui. Nous l'avons bien reçue.",
        "request_acknowledgement.answer_within": "Vous recevrez notre réponse dans les {days} jours ouvrables.",
        "request_acknowledgement.answer_within_one": "Vous recevrez notre réponse dans un délai d'un jour ouvrable.",
        "request_acknowledgement.next": "Un(e) collègue examine votre question, puis vous contacte.",
        "request_declined.subject": "Notre réponse à votre demande au Centre d'appui",
        "request_declined.lead": "Merci pour votre demande. Nous l'avons examinée avec attention. Nous sommes désolés : nous ne pouvons pas vous aider nous-mêmes.",
        "request_declined.reason.outside_expertise": "Votre question ne relève pas de notre expertise.",
        "request_declined.reason.no_capacity": "Pour le moment, nous n'avons pas assez de temps ou de personnes pour bien vous aider.",
        "request_declined.reason.long_term_coaching": "Votre question demande un accompagnement de longue durée. Nous ne pouvons pas l'offrir.",
        "request_declined.reason.out_of_scope": "Votre question ne correspond pas à la mission du Centre d'appui.",
        "request_declined.reason.other": "Nous ne pouvons pas traiter votre question pour une autre raison. Nous vous expliquerons volontiers pourquoi.",
        "request_declined.referral": "Nous vous orientons vers {referred_to}. Ils sont mieux placés pour vous aider.",
        "request_overdue.subject": "Demande sans réponse : reçue le {received}",
        "request_overdue.lead": "Une demande de soutien, reçue le {received}, n'a pas encore reçu de réponse. Nous promettons une réponse dans les {days} jours ouvrables ; le dernier jour était le {last_day}.",
        "request_overdue.lead_no_term": "Une demande de soutien, reçue le {received}, n'a pas encore reçu de réponse.",
        "request_overdue.assigned": "La demande vous est attribuée.",
        "request_overdue.unassigned": "Personne n'a encore pris la demande.",
        "request_overdue.next": "Contactez le demandeur dès que possible, ou confiez la demande à un(e) collègue.",
        "request_overdue.reference": "Numéro de la demande : {request_id}",
        "request_overdue.link": "La demande au guichet",
        "ops_alert.subject.firing": "Alerte : {alertname}",
        "ops_alert.subject.resolved": "Résolu : {alertname}",
        "ops_alert.firing": "L'alerte {alertname} est active depuis le {since}.",
        "ops_alert.resolved": "L'alerte {alertname} est résolue. Elle était active depuis le {since}.",
        "ops_alert.labels": "Détails",
        "ops_alert.runbook": "Que faire",
    },
}

DAYS = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
MONTHS = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
}


def language(value) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translate(lang: str, key: str, **values) -> str:
    text = STRINGS[language(lang)].get(key)
    if text is None:
        text = STRINGS[DEFAULT_LANGUAGE][key]
    return text.format(**values) if values else text


def local(moment: datetime) -> datetime:
    return moment.astimezone(CENTRE_TIMEZONE)


def format_day(lang: str, moment: datetime) -> str:
    """'dinsdag 3 maart 2026' in the centre's time zone."""
    lang = language(lang)
    moment = local(moment)
    return f"{DAYS[lang][moment.weekday()]} {moment.day} {MONTHS[lang][moment.month - 1]} {moment.year}"


def format_time(moment: datetime) -> str:
    return local(moment).strftime("%H:%M")


def format_moment(lang: str, moment: datetime) -> str:
    return f"{format_day(lang, moment)} {translate(lang, 'at')} {format_time(moment)}"


def format_range(lang: str, starts_at: datetime, ends_at: datetime) -> str:
    if local(starts_at).date() == local(ends_at).date():
        return translate(lang, "time_range_same_day", day=format_day(lang, starts_at),
                         start=format_time(starts_at), end=format_time(ends_at))
    return translate(lang, "time_range", start=format_moment(lang, starts_at), end=format_moment(lang, ends_at))
