"""Business names, people and email addresses, built from word lists.

Demos and screenshots are read by people, so "Willow & Wren Florals" in Harrogate reads far
better than "Supplier 1734". Names follow the naming habits of each vendor type (photographers
use their own name, venues their place, florists a flower) and the country of the supplier.
All choices come from pre-drawn random integers, so the names are as deterministic as the rest.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "GB": (
        "Emma", "Olivia", "Sophie", "Charlotte", "Lucy", "Hannah", "Grace", "Amelia", "Jessica",
        "Chloe", "Megan", "Holly", "Katie", "Laura", "Rebecca", "Poppy", "Imogen", "Harriet",
        "James", "Tom", "Oliver", "Jack", "Harry", "George", "Daniel", "Sam", "Ben", "Luke",
        "Matt", "Josh", "Ryan", "Adam", "Chris", "Alfie", "Rhys", "Callum",
    ),
    "IE": (
        "Aoife", "Siobhan", "Niamh", "Ciara", "Orla", "Sinead", "Roisin", "Saoirse",
        "Cian", "Darragh", "Eoin", "Liam", "Conor", "Sean", "Oisin", "Ronan",
    ),
    "US": (
        "Ashley", "Jessica", "Brittany", "Sarah", "Megan", "Lauren", "Kayla", "Madison", "Taylor",
        "Tyler", "Brandon", "Justin", "Kyle", "Austin", "Jordan", "Cody", "Dylan", "Hunter",
    ),
    "AU": (
        "Chloe", "Mia", "Isla", "Ruby", "Zoe", "Matilda", "Georgia", "Sienna",
        "Jack", "Lachlan", "Cooper", "Mitchell", "Riley", "Hamish", "Angus", "Brodie",
    ),
    "FR": (
        "Camille", "Léa", "Chloé", "Manon", "Inès", "Julie", "Margaux", "Élodie",
        "Lucas", "Hugo", "Théo", "Louis", "Julien", "Antoine", "Mathieu", "Clément",
    ),
    "ES": (
        "Lucía", "María", "Paula", "Carmen", "Elena", "Sofía", "Marta", "Nuria",
        "Javier", "Pablo", "Alejandro", "Diego", "Sergio", "Álvaro", "Jorge", "Iván",
    ),
    "IT": (
        "Giulia", "Francesca", "Chiara", "Sara", "Martina", "Alessia", "Elisa", "Valentina",
        "Marco", "Luca", "Matteo", "Andrea", "Davide", "Lorenzo", "Stefano", "Paolo",
    ),
}  # fmt: skip

SURNAMES: dict[str, tuple[str, ...]] = {
    "GB": (
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Robinson", "Wright",
        "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Clarke",
        "Hughes", "Turner", "Hill", "Cooper", "Ward", "Morris", "King", "Harper", "Fletcher",
        "Ashworth", "Pemberton", "Whitfield", "Hartley", "Lockwood", "Ellison", "Bramley",
    ),
    "IE": (
        "Murphy", "Kelly", "O'Brien", "Byrne", "Ryan", "O'Sullivan", "Walsh", "McCarthy",
        "Doyle", "Gallagher", "Quinn", "Brennan", "Fitzgerald", "Nolan",
    ),
    "US": (
        "Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson", "Thomas", "Moore",
        "Martin", "Lee", "Harris", "Clark", "Lewis", "Young", "Allen", "Bennett",
    ),
    "AU": (
        "Nguyen", "Smith", "Wilson", "Campbell", "Stewart", "Kelly", "Mitchell", "Baker",
        "Reid", "Ryan", "Fraser", "Murray", "Hughes", "Duncan",
    ),
    "FR": (
        "Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Roux",
        "Fontaine", "Rousseau", "Mercier", "Blanc", "Chevalier", "Garnier",
    ),
    "ES": (
        "García", "Fernández", "López", "Martínez", "Sánchez", "Romero", "Navarro", "Torres",
        "Ruiz", "Molina", "Ortega", "Delgado", "Castillo", "Vidal",
    ),
    "IT": (
        "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
        "Marino", "Greco", "Bruno", "Gallo", "Conti", "Costa",
    ),
}  # fmt: skip

PLACES: dict[str, tuple[str, ...]] = {
    "GB": (
        "Bath", "York", "Harrogate", "Cotswold", "Brighton", "Cheltenham", "Chester", "Norwich",
        "Oxford", "Cambridge", "Winchester", "Edinburgh", "Cardiff", "Leeds", "Manchester",
        "Bristol", "Exeter", "Whitby", "Ludlow", "Windermere", "Cornwall", "Peak District",
        "Surrey Hills", "Norfolk", "Dorset", "Kent", "Yorkshire Dales", "Lake District",
    ),
    "IE": ("Kilkenny", "Galway", "Wicklow", "Kinsale", "Dublin", "Cork", "Killarney", "Sligo"),
    "US": (
        "Napa", "Savannah", "Charleston", "Austin", "Boulder", "Nashville", "Asheville", "Sedona",
    ),
    "AU": (
        "Byron Bay", "Hunter Valley", "Margaret River", "Yarra Valley", "Noosa", "Hobart",
        "Barossa", "Blue Mountains",
    ),
    "FR": ("Provence", "Bordeaux", "Annecy", "Lyon", "Dordogne", "Loire", "Biarritz", "Alsace"),
    "ES": ("Sevilla", "Mallorca", "Granada", "Marbella", "Valencia", "Barcelona", "Ibiza"),
    "IT": ("Toscana", "Amalfi", "Como", "Verona", "Puglia", "Firenze", "Umbria", "Sorrento"),
}  # fmt: skip

WORDS: tuple[str, ...] = (
    "Golden", "Wild", "Little", "Willow", "Honey", "Silver", "Ivory", "Rose", "Meadow",
    "Wildflower", "Oak", "Juniper", "Blush", "Velvet", "Linen", "Sage", "Fern", "Hazel",
    "Bluebell", "Foxglove", "Magpie", "Lark", "Wren", "Hummingbird", "Kismet", "Lumen",
    "Story", "Moment", "Evergreen", "Ever After", "Copper", "Peony", "Bramble", "Marigold",
    "Saltwater", "Northern Light", "Firefly", "Moonlit", "True North", "Heirloom",
)  # fmt: skip

FLOWERS: tuple[str, ...] = (
    "Peony", "Rose", "Dahlia", "Poppy", "Lily", "Iris", "Violet", "Freesia", "Ranunculus",
    "Sweet Pea", "Anemone", "Hydrangea", "Lavender", "Thistle", "Clover",
)  # fmt: skip

TRADE_WORDS: dict[str, tuple[str, ...]] = {
    "photographer": ("Photography", "Photo", "Images", "Photo Studio", "Pictures"),
    "videographer": ("Films", "Cinema", "Wedding Films", "Motion", "Video"),
    "venue": ("Hall", "Manor", "Barn", "House", "Estate", "Castle", "Farm", "Orangery", "Court"),
    "florist": ("Flowers", "Florals", "Floristry", "Blooms", "Flower Studio"),
    "planner": ("Weddings", "Events", "Wedding Planning", "Occasions", "Celebrations"),
    "caterer": ("Catering", "Kitchen", "Feasts", "Dining", "Food Co."),
    "band_dj": ("Band", "DJs", "Entertainment", "Sounds", "Collective", "Live"),
    "cake": ("Cakes", "Bakes", "Cake Co.", "Patisserie", "Bakery"),
    "hair_makeup": ("Hair & Makeup", "Bridal Beauty", "Beauty", "Artistry", "Bridal Hair"),
    "stationery": ("Stationery", "Paper Co.", "Press", "Invitations", "Calligraphy"),
    "other": ("Hire", "Styling", "Prop Hire", "Decor", "Confetti Co.", "Marquees"),
}

DOMAIN_SUFFIX: dict[str, str] = {
    "GB": "co.uk",
    "IE": "ie",
    "US": "com",
    "AU": "com.au",
    "FR": "fr",
    "ES": "es",
    "IT": "it",
}

RANDOMS_PER_SUPPLIER = 16
"""How many random integers ``name_supplier`` consumes: draw them as one array up front."""


@dataclass(frozen=True)
class NamedPerson:
    name: str
    email: str


def _pick(options: Sequence[str], r: int) -> str:
    return options[r % len(options)]


def ascii_slug(text: str, sep: str = "") -> str:
    """Lower-case ASCII letters and digits of ``text`` (accents folded), for domains and emails."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", sep, folded.lower()).strip(sep)


def business_name(vendor_type: str, country: str, r: Sequence[int]) -> str:
    """A plausible trading name for a business of ``vendor_type`` in ``country``."""
    trade = _pick(TRADE_WORDS[vendor_type], r[0])
    surname = _pick(SURNAMES[country], r[1])
    first = _pick(FIRST_NAMES[country], r[2])
    place = _pick(PLACES[country], r[3])
    word = _pick(WORDS, r[4])
    other_word = _pick(WORDS, r[4] + 1 + r[5] % (len(WORDS) - 1))
    pattern = r[6] % 5
    if vendor_type == "venue":
        return (
            f"{place} {trade}",
            f"The {trade} at {place}",
            f"{surname} {trade}",
            f"{word} {trade}",
            f"{word} {trade}, {place}",
        )[pattern]
    if vendor_type == "florist" and pattern == 4:
        return f"{_pick(FLOWERS, r[5])} & {_pick(FLOWERS, r[7])} {trade}"
    if vendor_type in {"cake", "hair_makeup"} and pattern == 3:
        return f"{first}'s {trade}"
    return (
        f"{first} {surname} {trade}",
        f"{surname} {trade}",
        f"{word} {trade}",
        f"{word} & {other_word} {trade}",
        f"{place} {trade}",
    )[pattern]


def unique_business_name(name: str, country: str, r: Sequence[int], taken: set[str]) -> str:
    """``name``, or a variant with a place or number added if another supplier has it."""
    candidate = name
    attempt = 0
    while candidate in taken:
        place = _pick(PLACES[country], r[8] + attempt)
        candidate = f"{name} {place}" if attempt < 3 else f"{name} {attempt - 1}"
        attempt += 1
    taken.add(candidate)
    return candidate


def domain_for(business: str, country: str, taken: set[str]) -> str:
    """An email domain from the business name, unique within the population."""
    base = ascii_slug(business)[:40] or "wedding"
    domain = f"{base}.{DOMAIN_SUFFIX[country]}"
    n = 2
    while domain in taken:
        domain = f"{base}{n}.{DOMAIN_SUFFIX[country]}"
        n += 1
    taken.add(domain)
    return domain


def people(country: str, domain: str, count: int, r: Sequence[int]) -> list[NamedPerson]:
    """``count`` distinct team members; the owner uses ``first@domain``, others ``first.last@``."""
    firsts = FIRST_NAMES[country]
    lasts = SURNAMES[country]
    result: list[NamedPerson] = []
    used_emails: set[str] = set()
    for i in range(count):
        first = firsts[(r[9 + i] + 7 * i) % len(firsts)]
        last = lasts[(r[13 - i] + 3 * i) % len(lasts)]
        local = ascii_slug(first) if i == 0 else f"{ascii_slug(first)}.{ascii_slug(last)}"
        email = f"{local}@{domain}"
        if email in used_emails:
            email = f"{local}{i + 1}@{domain}"
        used_emails.add(email)
        result.append(NamedPerson(name=f"{first} {last}", email=email))
    return result
