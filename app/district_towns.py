"""Towns the India Post directory cannot place by itself.

India Post and the Census-2011 polygons still use the 33 older districts, so a town of
one of the eight districts created in 2023 (and kept on 2024-12-28) is listed under its
older parent: Makrana under Nagaur, Behror under Alwar. `NEW_DISTRICT_TOWNS` lists the
tehsil headquarters and larger towns of each newer district, as named in the 2023
notifications and news reports of 2023-08 and 2024-12 (collected by hand, not checked
against the gazette notification). Tehsils whose district was disputed or changed in
the 2024-12 revision (Baytu, Gudamalani, Dhorimanna, Sindhari) are left out on
purpose: they stay with Barmer, as India Post lists them, until confirmed.

A name listed here resolves to the newer district; its post offices (under the older
district in the directory) follow it. The PINs of those offices are still placed in the
older district, with the flag "parent_only", because a PIN does not say on which side
of the new boundary a village lies.

`OTHER_TOWN_NAMES` gives towns that India Post spells differently or does not list as
a town office. `JAIPUR_COMMISSIONERATE_TOWNS` are the peri-urban thanas that the
police-district data (rajasthan_police_districts.csv, notes of the Jaipur
Commissionerate) puts under the Commissionerate although their PINs are 303xxx.
"""

NEW_DISTRICT_TOWNS: dict[str, tuple[str, ...]] = {
    "Balotra": (
        "Balotra",
        "Pachpadra",
        "Pachpadra City",
        "Siwana",
        "Samdari",
        "Kalyanpur",
        "Jasol",
        "Asotra",
        "Mokalsar",
    ),
    "Beawar": (
        "Beawar",
        "Masuda",
        "Bijainagar",
        "Vijaynagar",
        "Vijainagar",
        "Badnor",
        "Badnore",
        "Jaitaran",
        "Raipur Marwar",
        "Tatgarh",
    ),
    "Deeg": ("Deeg", "Kumher", "Nagar", "Kaman", "Kama", "Pahari", "Sikri", "Jurahara"),
    "Didwana-Kuchaman": (
        "Didwana",
        "Kuchaman",
        "Kuchaman City",
        "Ladnun",
        "Nawa",
        "Nawa City",
        "Makrana",
        "Parbatsar",
        "Maulasar",
        "Chhoti Khatu",
    ),
    "Khairthal-Tijara": (
        "Khairthal",
        "Tijara",
        "Kishangarh Bas",
        "Kishangarhbas",
        "Kotkasim",
        "Kot Kasim",
        "Harsoli",
        "Mundawar",
        "Bhiwadi",
        "Tapukara",
    ),
    "Kotputli-Behror": (
        "Kotputli",
        "Viratnagar",
        "Virat Nagar",
        "Paota",
        "Behror",
        "Bahror",
        "Bansur",
        "Neemrana",
        "Mandhan",
        "Shahjahanpur",
    ),
    "Phalodi": ("Phalodi", "Lohawat", "Bap", "Bapini", "Aau", "Dechu"),
    "Salumbar": ("Salumbar", "Salumber", "Sarada", "Sarara", "Semari", "Jhallara"),
}

# Town -> district, for towns India Post lists under another name or not as a town.
# A name India Post has as a town in another district becomes ambiguous.
OTHER_TOWN_NAMES: dict[str, str] = {
    "Chhoti Sadri": "Pratapgarh",
    "Choti Sadri": "Pratapgarh",
    "Sambhar": "Jaipur",
    "Niwai": "Tonk",
    "Nainwa": "Bundi",
    "Kumbhalgarh": "Rajsamand",
    "Kolayat": "Bikaner",
    "Mount Abu": "Sirohi",
    "Abu Road": "Sirohi",
    "Pokhran": "Jaisalmer",
    "Ramdevra": "Jaisalmer",
    "Fatehpur Shekhawati": "Sikar",
    "Lachhmangarh": "Sikar",
    "Laxmangarh": "Sikar",  # and a town office of that name in Alwar: ambiguous
    "Khatu Shyam Ji": "Sikar",
    "Khatushyamji": "Sikar",
    "Pilibangan": "Hanumangarh",
    "Rawatbhata": "Chittorgarh",
    "Kankroli": "Rajsamand",
    "Sadulpur": "Churu",
    "Udaipurwati": "Jhunjhunu",
    "Khetri": "Jhunjhunu",
    "Nimbahera": "Chittorgarh",
    "Hindaun City": "Karauli",
    "Sojat City": "Pali",
    "Ramganj Mandi": "Kota",
}

JAIPUR_COMMISSIONERATE_TOWNS = (
    "Bassi",
    "Chaksu",
    "Chomu",
    "Bagru",
    "Kanota",
    "Kotkhawda",
    "Shivdaspura",
)
