"""The web application's words in Dutch (the default) and English.

Texts are written in English in templates and code (`_("Donors")`); the catalogue
gives the Dutch. A text missing from the catalogue shows in English, and a test
fails for every template text that has no Dutch, so none slips through. Messages
from the domain (validation problems of an import) stay as the domain wrote them.
"""
from __future__ import annotations

# The web import page's explanation of the timesheet file (a long text, named once).
TIMESHEET_HINT = (
    "One day: date. A period (such as a signed monthly sheet): period_start and period_end, date empty; at most "
    "24 hours for each day of the period, within one calendar year. A period across the grant's start or end is "
    "split pro rata by days. More hours than the contract hours in the period is a warning; the annual ceiling "
    "decides what is eligible.")

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

DUTCH: dict[str, str] = {
    # layout and navigation
    "anbi-crm": "anbi-crm",
    "Skip to content": "Naar de inhoud",
    "Main menu": "Hoofdmenu",
    "Dashboard": "Overzicht",
    "Donors": "Donateurs",
    "Campaigns": "Campagnes",
    "Donations": "Giften",
    "Imports": "Importeren",
    "Grants": "Subsidies",
    "Funds": "Fondsen",
    "Reports": "Rapportages",
    "Receipts": "Jaaroverzichten",
    "Sign out": "Afmelden",
    "Signed in as {email} ({role})": "Aangemeld als {email} ({role})",
    "Language": "Taal",
    "Nederlands": "Nederlands",
    "English": "English",
    "Back": "Terug",
    "Search": "Zoeken",
    "Filter": "Filteren",
    "Save": "Opslaan",
    "Cancel": "Annuleren",
    "Download": "Downloaden",
    "Download CSV": "CSV downloaden",
    "Show": "Tonen",
    "none": "geen",
    "None yet.": "Nog niets.",
    "Nothing found.": "Niets gevonden.",
    "yes": "ja",
    "no": "nee",
    "Total": "Totaal",
    "Date": "Datum",
    "Amount": "Bedrag",
    "Status": "Status",
    "Name": "Naam",
    "Reference": "Referentie",
    "Year": "Jaar",
    "Month": "Maand",
    "Campaign": "Campagne",
    "Channel": "Kanaal",
    "Method": "Betaalwijze",
    "Fund": "Fonds",
    "Kind": "Soort",
    "E-mail": "E-mail",
    "Page {page} of {pages}": "Pagina {page} van {pages}",
    "Previous": "Vorige",
    "Next": "Volgende",
    "all": "alle",
    # errors
    "Page not found": "Pagina niet gevonden",
    "This page does not exist.": "Deze pagina bestaat niet.",
    "Not allowed": "Geen toegang",
    "Your role ({role}) may not open this page.": "Uw rol ({role}) geeft geen toegang tot deze pagina.",
    "The form has expired or did not come from this site. Go back, reload the page and try again.":
        "Het formulier is verlopen of kwam niet van deze site. Ga terug, laad de pagina opnieuw en probeer het nog eens.",
    "Form expired": "Formulier verlopen",
    "Request refused": "Verzoek geweigerd",
    "The request was refused: {detail}": "Het verzoek is geweigerd: {detail}",
    "The request is too large.": "Het verzoek is te groot.",
    "Please correct the fields marked below.": "Verbeter de velden die hieronder zijn gemarkeerd.",
    # sign in
    "Sign in": "Aanmelden",
    "Password": "Wachtwoord",
    "Wrong e-mail address or password.": "Onjuist e-mailadres of wachtwoord.",
    "Too many failed attempts. Try again in {minutes} minutes.":
        "Te veel mislukte pogingen. Probeer het over {minutes} minuten opnieuw.",
    "Too many failed attempts. Try again in {seconds} seconds.":
        "Te veel mislukte pogingen. Probeer het over {seconds} seconden opnieuw.",
    "You have been signed out.": "U bent afgemeld.",
    "Please sign in to continue.": "Meld u aan om verder te gaan.",
    "Donor? Download your annual statement in the donor portal.":
        "Donateur? Download uw jaaroverzicht in het donateursportaal.",
    # dashboard
    "Income this year against last year": "Inkomsten dit jaar tegenover vorig jaar",
    "Income by month, {year} against {previous}": "Inkomsten per maand, {year} tegenover {previous}",
    "By campaign": "Per campagne",
    "By channel": "Per kanaal",
    "By origin (RJ 650)": "Naar herkomst (RJ 650)",
    "Income line": "Batenpost",
    "Donors this year": "Donateurs dit jaar",
    "New": "Nieuw",
    "Returning": "Terugkerend",
    "Lapsed": "Afgehaakt",
    "New: first gift ever this year. Returning: gave before and again this year. Lapsed: gave last year, not yet this year.":
        "Nieuw: eerste gift ooit dit jaar. Terugkerend: gaf eerder en dit jaar weer. Afgehaakt: gaf vorig jaar, dit jaar nog niet.",
    "Recurring gifts at risk": "Terugkerende giften met problemen",
    "Failed attempts": "Mislukte pogingen",
    "Grant deadlines in the next 60 days": "Subsidiedeadlines in de komende 60 dagen",
    "Deadline": "Deadline",
    "What": "Wat",
    "Last imports": "Laatste imports",
    "Last webhooks": "Laatste webhooks",
    "Rows": "Rijen",
    "File": "Bestand",
    "By": "Door",
    "Event": "Gebeurtenis",
    "Income {year} (bars) against {previous} (line), in euros, by month":
        "Inkomsten {year} (staven) tegenover {previous} (lijn), in euro, per maand",
    # donors
    "Find a donor": "Donateur zoeken",
    "Your role ({role}) may not search by IBAN.": "Uw rol ({role}) mag niet zoeken op IBAN.",
    "For example: Öztürk, van der Berg, Jansen Utrecht, anna@example.nl, NL91ABNA0417164300, D000123 or 1017 GC 12":
        "Bijvoorbeeld: Öztürk, van der Berg, Jansen Utrecht, anna@example.nl, NL91ABNA0417164300, D000123 of 1017 GC 12",
    "Case and accents do not matter; any word of the name, or its beginning, finds it.":
        "Hoofdletters en accenten maken niet uit; elk woord van de naam, of het begin ervan, vindt hem.",
    "Postcode": "Postcode",
    "House number": "Huisnummer",
    "City": "Plaats",
    "Address": "Adres",
    "Phone": "Telefoon",
    "IBAN": "IBAN",
    "Donor number": "Donateurnummer",
    "Possible duplicates": "Mogelijke dubbelen",
    "Contact": "Contactgegevens",
    "Consent": "Toestemming",
    "Consent history": "Toestemmingsgeschiedenis",
    "Gifts": "Giften",
    "Recurring gifts": "Terugkerende giften",
    "Periodic gift agreements": "Periodieke giftenovereenkomsten",
    "Statements issued": "Verstrekte jaaroverzichten",
    "Merges": "Samenvoegingen",
    "Audit trail": "Logboek",
    "Edit": "Wijzigen",
    "Edit donor": "Donateur wijzigen",
    "Erase (AVG)": "Wissen (AVG)",
    "Erase donor": "Donateur wissen",
    "Merge": "Samenvoegen",
    "Compare": "Vergelijken",
    "Keep": "Behouden",
    "Merge into the kept donor": "Samenvoegen in de behouden donateur",
    "What the merge will do": "Wat het samenvoegen doet",
    "Moved to the kept donor": "Naar de behouden donateur",
    "Already on the kept donor": "Al bij de behouden donateur",
    "Filled from the duplicate": "Aangevuld uit het dubbele record",
    "The number {duplicate} keeps working and leads to {kept}.":
        "Het nummer {duplicate} blijft werken en leidt naar {kept}.",
    "A merge cannot be undone.": "Samenvoegen kan niet ongedaan worden gemaakt.",
    "Yes, merge {duplicate} into {kept}": "Ja, voeg {duplicate} samen in {kept}",
    "The donor on the right is merged into the donor on the left: gifts, agreements, mandates and history move to the left; empty fields on the left are filled from the right; the right's number keeps working and leads to the left.":
        "De donateur rechts wordt samengevoegd in de donateur links: giften, overeenkomsten, machtigingen en geschiedenis gaan naar links; lege velden links worden aangevuld van rechts; het nummer van rechts blijft werken en verwijst naar links.",
    "Score": "Score",
    "Reasons": "Redenen",
    "Merged {duplicate} into {kept}.": "{duplicate} is samengevoegd in {kept}.",
    "Saved.": "Opgeslagen.",
    "granted": "gegeven",
    "withdrawn": "ingetrokken",
    "objection": "bezwaar",
    "not asked": "niet gevraagd",
    "Source": "Bron",
    "When": "Wanneer",
    "Who": "Wie",
    "Action": "Actie",
    "Details": "Details",
    "First name": "Voornaam",
    "Initials": "Voorletters",
    "Prefix (tussenvoegsel)": "Tussenvoegsel",
    "Last name": "Achternaam",
    "Organisation": "Organisatie",
    "Organisation type": "Soort organisatie",
    "Street": "Straat",
    "Suffix": "Toevoeging",
    "Country": "Land",
    "Consent to e-mail": "Toestemming voor e-mail",
    "Consent to post": "Toestemming voor post",
    "Consent to phone calls": "Toestemming voor telefoon",
    "Tags": "Labels",
    "Separate tags with |": "Scheid labels met |",
    "person": "persoon",
    "organisation": "organisatie",
    "restricted": "beperkt",
    "This donor is restricted after an erasure request: only the financial records are kept.":
        "Deze donateur is beperkt na een verzoek tot wissen: alleen de financiële gegevens worden bewaard.",
    "Annual amount": "Jaarbedrag",
    "Start": "Begin",
    "End": "Einde",
    "Number": "Nummer",
    "Interval": "Interval",
    "Regular": "Gewoon",
    "Periodic": "Periodiek",
    "Total paid": "Totaal betaald",
    "What will be erased": "Wat wordt gewist",
    "What is kept, and why": "Wat blijft bewaard, en waarom",
    "Until": "Tot",
    "Erase this donor now": "Deze donateur nu wissen",
    "Type the donor number to confirm": "Typ het donateurnummer ter bevestiging",
    "The donor number you typed does not match.": "Het getypte donateurnummer klopt niet.",
    "Erasure cannot be undone.": "Wissen kan niet ongedaan worden gemaakt.",
    "Erased.": "Gewist.",
    # campaigns and donations
    "Goal": "Doel",
    "Raised": "Opgehaald",
    "Progress": "Voortgang",
    "Net raised": "Netto opgehaald",
    "Gross raised": "Bruto opgehaald",
    "includes": "inclusief",
    "Sub-campaigns included": "Inclusief deelcampagnes",
    "A campaign's figures include its sub-campaigns. Gross: the gifts received; net: less refunds, lost disputes and payment fees. Progress: net against the goal.":
        "De cijfers van een campagne omvatten haar deelcampagnes. Bruto: de ontvangen giften; netto: min terugbetalingen, verloren geschillen en kosten betaalverkeer. Voortgang: netto tegen het doel.",
    "Refunds": "Terugbetalingen",
    "Fees": "Kosten betaalverkeer",
    "Lost disputes": "Verloren geschillen",
    "Number of gifts": "Aantal giften",
    "Number of donors": "Aantal donateurs",
    "New donors": "Nieuwe donateurs",
    "Returning donors": "Terugkerende donateurs",
    "Average gift": "Gemiddelde gift",
    "Median gift": "Mediaan gift",
    "Cost per euro raised": "Kosten per opgehaalde euro",
    "Cost": "Kosten",
    "By month": "Per maand",
    "Other currencies": "Andere valuta",
    "From": "Van",
    "To": "Tot en met",
    "Donor": "Donateur",
    "anonymous": "anoniem",
    "Refunded": "Terugbetaald",
    "LYBUNT and SYBUNT": "LYBUNT en SYBUNT",
    "LYBUNT: gave last year but not this year. SYBUNT: gave some year before, but not this year.":
        "LYBUNT: gaf vorig jaar maar dit jaar niet. SYBUNT: gaf in een eerder jaar, maar dit jaar niet.",
    "Last gift": "Laatste gift",
    "Last year's total": "Totaal vorig jaar",
    "{count} donations": "{count} giften",
    "{count} gifts": "{count} giften",
    "{count} gift": "{count} gift",
    "{count} gifts received": "{count} giften ontvangen",
    "{count} gift received": "{count} gift ontvangen",
    "Received, net of refunds": "Ontvangen, na terugbetalingen",
    "less refunded": "min terugbetaald",
    "Not included": "Niet meegeteld",
    "Received: the gifts whose money reached us (refunded and disputed gifts included), less what refunds, chargebacks and lost disputes took back. Pending and failed gifts are listed but not counted as money received.":
        "Ontvangen: de giften waarvan het geld binnenkwam (ook terugbetaalde en betwiste), min wat terugbetalingen, terugboekingen en verloren geschillen terugnamen. Giften in behandeling en mislukte giften staan in de lijst, maar tellen niet mee als ontvangen geld.",
    "{count} donation": "{count} gift",
    "The newest {shown} are shown; the CSV has them all.": "De nieuwste {shown} staan hier; het CSV-bestand heeft ze allemaal.",
    "The first {shown} are shown; the CSV has them all.": "De eerste {shown} staan hier; het CSV-bestand heeft ze allemaal.",
    "{count} donors": "{count} donateurs",
    "{count} donor": "{count} donateur",
    # imports
    "Import a file": "Een bestand importeren",
    "What kind of file": "Soort bestand",
    "CSV or XLSX file": "CSV- of XLSX-bestand",
    "Check the file": "Bestand controleren",
    "Import now": "Nu importeren",
    "Nothing has been written yet. Check the preview, then import.":
        "Er is nog niets opgeslagen. Controleer het voorbeeld en importeer dan.",
    "The file has {count} problems; nothing was written. Correct the file and upload it again.":
        "Het bestand heeft {count} problemen; er is niets opgeslagen. Verbeter het bestand en upload het opnieuw.",
    "The file has {count} problem; nothing was written. Correct the file and upload it again.":
        "Het bestand heeft {count} probleem; er is niets opgeslagen. Verbeter het bestand en upload het opnieuw.",
    "Line": "Regel",
    "Field": "Veld",
    "Reason": "Reden",
    "First rows": "Eerste regels",
    "Imported.": "Geïmporteerd.",
    "Result": "Resultaat",
    "Choose a file.": "Kies een bestand.",
    "The upload has expired; upload the file again.": "De upload is verlopen; upload het bestand opnieuw.",
    "donors": "donateurs",
    "donations": "giften",
    "agreements": "overeenkomsten",
    "expenses": "kosten",
    "timesheets": "urenregistratie",
    "Columns: {columns}": "Kolommen: {columns}",
    TIMESHEET_HINT: (
        "Eén dag: date. Een periode (zoals een getekende maandstaat): period_start en period_end, date leeg; "
        "hoogstens 24 uur per dag van de periode, binnen één kalenderjaar. Een periode over het begin of einde "
        "van de subsidie wordt naar rato van de dagen verdeeld. Meer uren dan de contracturen in de periode is "
        "een waarschuwing; het jaarplafond beslist wat subsidiabel is."),
    "imported": "geïmporteerd",
    "refused": "geweigerd",
    "mandates": "machtigingen",
    "payments": "subsidiebetalingen",
    "outputs": "prestaties",
    "staff": "personeelskosten",
    "bank": "bankafschriften",
    "{count} rows": "{count} regels",
    "{count} row": "{count} regel",
    "{count} new": "{count} nieuw",
    "{count} updated": "{count} bijgewerkt",
    "{count} unchanged": "{count} ongewijzigd",
    "{count} refunds": "{count} terugbetalingen",
    "{count} refund": "{count} terugbetaling",
    "{count} corrections": "{count} correcties",
    "{count} correction": "{count} correctie",
    "{count} current statements": "{count} geldige jaaroverzichten",
    "{count} current statement": "{count} geldig jaaroverzicht",
    "From this application and from the terminal (anbi … import).": "Uit deze toepassing en vanaf de opdrachtregel (anbi … import).",
    "Runs started here and with `anbi receipts issue` on the server.": "Runs die hier zijn gestart en met `anbi receipts issue` op de server.",
    # finance
    "Funder": "Financier",
    "Awarded": "Toegekend",
    "Budget against actual": "Begroting tegenover werkelijk",
    "Budget line": "Begrotingspost",
    "Budget": "Begroting",
    "Actual": "Werkelijk",
    "Variance": "Verschil",
    "Eligible costs": "Subsidiabele kosten",
    "Ineligible costs": "Niet-subsidiabele kosten",
    "Indirect costs": "Indirecte kosten",
    "Total eligible": "Totaal subsidiabel",
    "Funder's share": "Aandeel financier",
    "Payments": "Betalingen",
    "Received": "Ontvangen",
    "Recognised": "Verantwoord als baten",
    "Grants: to receive (+) or to repay (−)": "Subsidies: te ontvangen (+) of terug te betalen (−)",
    "Balance": "Saldo",
    "Outputs": "Prestaties",
    "Indicator": "Indicator",
    "Target": "Doel",
    "Achieved": "Gerealiseerd",
    "Report as PDF": "Rapport als PDF",
    "Report as XLSX": "Rapport als XLSX",
    "Deadlines": "Deadlines",
    "Opening": "Begin",
    "Income": "Baten",
    "Spending": "Bestedingen",
    "Closing": "Eind",
    "Funds report {year}": "Fondsenoverzicht {year}",
    "Income statement (RJ 650) {year}": "Staat van baten en lasten (RJ 650) {year}",
    "Over budget": "Boven begroting",
    "Direct eligible costs": "Direct subsidiabele kosten",
    # receipts
    "Annual gift statements": "Jaaroverzichten giften",
    "Start a receipt run": "Jaaroverzichten aanmaken",
    "Runs": "Runs",
    "Manifest": "Manifest",
    "Issued": "Uitgegeven",
    "running": "bezig",
    "finished": "klaar",
    "failed": "mislukt",
    # portal
    "Donor portal": "Donateursportaal",
    "Your annual statements and gifts": "Uw jaaroverzichten en giften",
    "Enter the e-mail address we know you by. We will send you a link to sign in; it works once and for 30 minutes.":
        "Vul het e-mailadres in waarmee u bij ons bekend bent. We sturen u een link om in te loggen; die werkt één keer en 30 minuten lang.",
    "Send me a link": "Stuur mij een link",
    "If this address is known to us, we have sent a link to it. It works once and for 30 minutes. No e-mail? Check the spam folder, or contact us.":
        "Als dit adres bij ons bekend is, hebben we er een link naartoe gestuurd. Die werkt één keer en 30 minuten lang. Geen e-mail ontvangen? Kijk in de map met ongewenste e-mail, of neem contact met ons op.",
    "This link has expired. Ask for a new one.": "Deze link is verlopen. Vraag een nieuwe aan.",
    "This link has already been used. Ask for a new one.": "Deze link is al gebruikt. Vraag een nieuwe aan.",
    "This link is not valid. Ask for a new one.": "Deze link is niet geldig. Vraag een nieuwe aan.",
    "Ask for a new link": "Een nieuwe link aanvragen",
    "Your statements": "Uw jaaroverzichten",
    "Your gifts": "Uw giften",
    "Your details": "Uw gegevens",
    "Update my details": "Mijn gegevens bijwerken",
    "Open your donor portal": "Naar uw donateursportaal",
    "Your details have been updated.": "Uw gegevens zijn bijgewerkt.",
    "You may receive e-mail from us": "U mag e-mail van ons ontvangen",
    "You may receive post from us": "U mag post van ons ontvangen",
    "You may be called by us": "U mag door ons gebeld worden",
    "Statement {year}": "Jaaroverzicht {year}",
    "No statements yet.": "Nog geen jaaroverzichten.",
}


# Texts that count something, and their form for a count of one: "1 donors" reads
# wrong in either language. Both forms have their Dutch in the catalogue.
ONE: dict[str, str] = {
    "{count} donations": "{count} donation",
    "{count} rows": "{count} row",
    "{count} refunds": "{count} refund",
    "{count} corrections": "{count} correction",
    "{count} current statements": "{count} current statement",
    "{count} gifts": "{count} gift",
    "{count} gifts received": "{count} gift received",
    "{count} donors": "{count} donor",
    "The file has {count} problems; nothing was written. Correct the file and upload it again.":
        "The file has {count} problem; nothing was written. Correct the file and upload it again.",
}


def translate(language: str | None, text: str, /, **values) -> str:
    """`text` in `language` with `{name}` placeholders filled in (a text counting one
    thing in its singular form)."""
    if values.get("count") == 1:
        text = ONE.get(text, text)
    if language == "nl":
        text = DUTCH.get(text, text)
    return text.format(**values) if values else text


def pick_language(requested: str | None) -> str:
    """The session's choice, else Dutch — whatever the browser says: the organisation
    works in Dutch, and English is a choice a person makes with the switch."""
    if requested in LANGUAGES:
        return requested
    return DEFAULT_LANGUAGE


# Codes stored in the database (statuses, methods, channels, ...) and how people
# read them: (English, Dutch). A code missing here is shown as it is.
LABELS: dict[str, tuple[str, str]] = {
    # deadlines (subsidies)
    "report_due": ("report due", "rapportage indienen"),
    "settlement_due": ("settlement request due", "aanvraag vaststelling indienen"),
    "reclaim_window_end": ("end of the reclaim window", "einde terugvorderingstermijn"),
    "record_keeping_end": ("end of record keeping (EU)", "einde bewaarplicht (EU)"),
    # donation statuses
    "pending": ("pending", "in behandeling"),
    "paid": ("paid", "betaald"),
    "failed": ("failed", "mislukt"),
    "refunded": ("refunded", "terugbetaald"),
    "partially_refunded": ("partially refunded", "deels terugbetaald"),
    "disputed": ("disputed", "betwist"),
    "dispute_won": ("dispute won", "geschil gewonnen"),
    "dispute_lost": ("dispute lost", "geschil verloren"),
    # methods
    "bank_transfer": ("bank transfer", "overboeking"),
    "sepa_debit": ("direct debit", "incasso"),
    "ideal": ("iDEAL", "iDEAL"),
    "card": ("card", "kaart"),
    "bancontact": ("Bancontact", "Bancontact"),
    "cash": ("cash", "contant"),
    "other": ("other", "anders"),
    "stripe": ("Stripe", "Stripe"),
    # donation kinds
    "gift": ("gift", "gift"),
    "lottery": ("lottery ticket", "loterijlot"),
    "purchase": ("purchase", "aankoop"),
    # campaign channels
    "online": ("online", "online"),
    "mail": ("mail", "post"),
    "street": ("street", "straat"),
    "event": ("event", "evenement"),
    "telephone": ("telephone", "telefoon"),
    "major_donors": ("major donors", "grote gevers"),
    "legacy": ("legacies", "nalatenschappen"),
    # intervals
    "monthly": ("monthly", "maandelijks"),
    "quarterly": ("quarterly", "per kwartaal"),
    "yearly": ("yearly", "jaarlijks"),
    # recurring, agreement, mandate and grant statuses
    "active": ("active", "actief"),
    "paused": ("paused", "gepauzeerd"),
    "cancelled": ("cancelled", "beëindigd"),
    "failing": ("failing", "mislukt herhaaldelijk"),
    "ended": ("ended", "beëindigd"),
    "revoked": ("revoked", "ingetrokken"),
    "expired": ("expired", "verlopen"),
    "applied": ("applied", "aangevraagd"),
    "awarded": ("awarded", "toegekend"),
    "running": ("running", "lopend"),
    "reported": ("reported", "verantwoord"),
    "settled": ("settled", "vastgesteld"),
    "closed": ("closed", "afgesloten"),
    "current": ("current", "geldig"),
    "replaced": ("replaced", "vervangen"),
    # consent channels
    "email": ("e-mail", "e-mail"),
    "post": ("post", "post"),
    "phone": ("phone", "telefoon"),
    # roles
    "admin": ("administrator", "beheerder"),
    "fundraiser": ("fundraiser", "fondsenwerver"),
    "finance": ("finance", "financiën"),
    "viewer": ("viewer", "meekijker"),
}


def label(language: str | None, code: str | None) -> str:
    """How people read a stored code, in their language."""
    if code is None:
        return ""
    pair = LABELS.get(code)
    if pair is None:
        return code
    return pair[1] if language == "nl" else pair[0]
