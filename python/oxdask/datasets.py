"""Random example datasets (``dask.datasets`` names): a timeseries DataFrame and a Bag of
people records. Partitions are generated lazily, each from its own seed, so that a given
``seed`` always gives the same data.
"""

from __future__ import annotations

import random

__all__ = ["make_people", "timeseries"]

# First names, one per letter, for string and categorical columns.
_NAMES = [
    "Alice",
    "Bob",
    "Charlie",
    "Dan",
    "Edith",
    "Frank",
    "George",
    "Hannah",
    "Ingrid",
    "Jerry",
    "Kevin",
    "Laura",
    "Michael",
    "Norbert",
    "Oliver",
    "Patricia",
    "Quinn",
    "Ray",
    "Sarah",
    "Tim",
    "Ursula",
    "Victor",
    "Wendy",
    "Xavier",
    "Yvonne",
    "Zelda",
]


def _floats(n, rng):
    """Uniform in [-1, 1)."""
    return rng.rand(n) * 2 - 1


def _ints(n, rng, lam=1000):
    """Poisson counts around ``lam``."""
    return rng.poisson(lam, size=n)


def _strings(n, rng):
    return rng.choice(_NAMES, size=n)


def _categories(n, rng):
    import pandas as pd

    return pd.Categorical.from_codes(rng.randint(0, len(_NAMES), size=n), _NAMES)


_MAKERS = {
    float: _floats,
    int: _ints,
    str: _strings,
    object: _strings,
    "string": _strings,
    "category": _categories,
}


class _TimeseriesPart:
    """Builds the partition ``[start, end)`` from a 32-bit seed.

    Every column is drawn, in the order of ``dtypes``, from one ``RandomState``: the values of
    a column do not depend on which columns are kept.
    """

    def __init__(self, dtypes, freq, kwargs):
        self.dtypes = dtypes
        self.freq = freq
        self.kwargs = kwargs

    def __call__(self, start, end, state):
        import numpy as np
        import pandas as pd

        rng = np.random.RandomState(state)
        index = pd.date_range(start=start, end=end, freq=self.freq, name="timestamp")
        data = {
            col: _MAKERS[dt](len(index), rng, **self.kwargs.get(col, {}))
            for col, dt in self.dtypes.items()
        }
        df = pd.DataFrame(data, index=index, columns=list(self.dtypes))
        if len(df) and df.index[-1] == end:
            df = df.iloc[:-1]
        return df


def timeseries(
    start="2000-01-01",
    end="2000-01-31",
    freq="1s",
    partition_freq="1D",
    dtypes=None,
    seed=None,
    **kwargs,
):
    """A DataFrame of random data on a regular time index.

    One row every ``freq`` from ``start`` (the index, named ``timestamp``), one partition every
    ``partition_freq``; the divisions are known. Rows after the last whole partition are left
    out.

    Parameters
    ----------
    start, end : datetime or str
        Bounds of the index (``end`` excluded).
    freq : str
        Time between rows, like ``"1s"`` or ``"2h"``.
    partition_freq : str
        Time covered by a partition, like ``"1D"`` or ``"1W"``.
    dtypes : dict, optional
        Column name to type: ``float`` (uniform in [-1, 1)), ``int`` (Poisson around 1000),
        ``str`` (first names) or ``"category"``. Default: ``{"name": str, "id": int,
        "x": float, "y": float}``.
    seed : int, optional
        Seed of the random data; a random one when not given.
    **kwargs
        Options of a column's generator, named ``<column>_<option>``: ``id_lam=10`` draws
        the ``int`` column ``id`` around 10.

    Returns
    -------
    oxdask.dataframe.DataFrame

    Examples
    --------
    >>> import oxdask
    >>> df = oxdask.datasets.timeseries(end="2000-01-03", freq="1h", seed=1)
    >>> df.npartitions, len(df)
    (2, 48)
    >>> list(df.columns)
    ['name', 'id', 'x', 'y']
    """
    import numpy as np
    import pandas as pd

    from oxdask.dataframe import from_map
    from oxdask.tokenize import tokenize

    if dtypes is None:
        dtypes = {"name": str, "id": int, "x": float, "y": float}
    dtypes = dict(dtypes)
    for col, dt in dtypes.items():
        try:
            ok = dt in _MAKERS
        except TypeError:
            ok = False
        if not ok:
            raise KeyError(
                f"timeseries: unsupported type {dt!r} for column {col!r}; "
                "use float, int, str or 'category'"
            )
    options: dict = {}
    for name, value in kwargs.items():
        col, _, option = name.rpartition("_")
        options.setdefault(col, {})[option] = value
    if seed is None:
        seed = np.random.randint(2_000_000_000)

    divisions = pd.date_range(start=start, end=end, freq=partition_freq)
    if len(divisions) < 2:
        raise ValueError(
            f"timeseries: no whole partition of {partition_freq!r} between {start!r} and "
            f"{end!r}; make the range longer or partition_freq shorter"
        )
    npartitions = len(divisions) - 1
    # One 32-bit seed per partition (and per column, of which the first is used).
    step = max(len(dtypes), 1)
    words = np.random.RandomState(seed).bytes(4 * npartitions * step)
    seeds = np.frombuffer(words, dtype=np.uint32)[::step].tolist()

    part = _TimeseriesPart(dtypes, freq, options)
    meta = part(divisions[0], divisions[0], 0).iloc[:0]
    return from_map(
        part,
        list(divisions[:-1]),
        list(divisions[1:]),
        seeds,
        meta=meta,
        divisions=list(divisions),
        label="make-timeseries",
        token=tokenize(start, end, freq, partition_freq, dtypes, seed, kwargs),
    )


# Words of the people records, in compact lists.
_FIRST = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Margaret",
    "Donald",
    "Sandra",
    "Steven",
    "Ashley",
    "Paul",
    "Kimberly",
    "Andrew",
    "Emily",
    "Joshua",
    "Donna",
    "Kenneth",
    "Michelle",
    "Kevin",
    "Carol",
    "Brian",
    "Amanda",
    "George",
    "Melissa",
    "Edward",
    "Deborah",
]
_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
]
_OCCUPATIONS = [
    "Accountant",
    "Architect",
    "Baker",
    "Carpenter",
    "Chef",
    "Civil Engineer",
    "Dentist",
    "Electrician",
    "Farmer",
    "Firefighter",
    "Graphic Designer",
    "Journalist",
    "Lawyer",
    "Librarian",
    "Mechanic",
    "Nurse",
    "Pharmacist",
    "Photographer",
    "Physician",
    "Pilot",
    "Plumber",
    "Police Officer",
    "Professor",
    "Software Developer",
    "Statistician",
    "Teacher",
    "Translator",
    "Veterinarian",
    "Web Designer",
    "Writer",
]
_STREETS = [
    "Main",
    "Oak",
    "Pine",
    "Maple",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Sunset",
    "Lincoln",
    "Jackson",
    "River",
    "Highland",
    "Forest",
    "Church",
    "Spring",
    "Meadow",
    "Willow",
    "Franklin",
    "Madison",
    "Chestnut",
    "Ridge",
    "Valley",
]
_STREET_KINDS = ["Street", "Avenue", "Road", "Lane", "Drive", "Court", "Place", "Boulevard", "Way"]
_CITIES = [
    "Springfield",
    "Riverside",
    "Franklin",
    "Greenville",
    "Bristol",
    "Clinton",
    "Fairview",
    "Salem",
    "Madison",
    "Georgetown",
    "Arlington",
    "Ashland",
    "Burlington",
    "Manchester",
    "Oxford",
    "Milton",
    "Newport",
    "Dover",
    "Jackson",
    "Auburn",
    "Dayton",
    "Lexington",
    "Milford",
    "Winchester",
    "Hudson",
]


def _card_number(rng):
    """16 digits starting with 4 (a Visa-like number) with a valid Luhn check digit."""
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):  # the check digit will sit to the right
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return " ".join(text[i : i + 4] for i in range(0, 16, 4))


def _person(rng):
    return {
        "age": rng.randint(0, 120),
        "name": (rng.choice(_FIRST), rng.choice(_LAST)),
        "occupation": rng.choice(_OCCUPATIONS),
        "telephone": (
            f"+1-({rng.randint(201, 989)})-{rng.randint(200, 999)}-{rng.randrange(10000):04d}"
        ),
        "address": {
            "address": (
                f"{rng.randint(1, 9999)} {rng.choice(_STREETS)} {rng.choice(_STREET_KINDS)}"
            ),
            "city": rng.choice(_CITIES),
        },
        "credit-card": {
            "number": _card_number(rng),
            "expiration-date": f"{rng.randint(1, 12):02d}/{rng.randint(16, 30):02d}",
        },
    }


def _people_partition(n, seed):
    rng = random.Random(seed)
    return [_person(rng) for _ in range(n)]


def make_people(npartitions=10, records_per_partition=1000, seed=None, locale="en"):
    """A Bag of random people records (dicts), generated lazily per partition.

    Each record has ``age`` (0-120), ``name`` (first name, surname), ``occupation``,
    ``telephone``, ``address`` (``{"address", "city"}``) and ``credit-card``
    (``{"number", "expiration-date"}``, numbers pass the Luhn check). Unlike Dask, no
    ``mimesis`` is needed: records come from built-in English word lists.

    Parameters
    ----------
    npartitions : int
        Number of partitions.
    records_per_partition : int
        Number of records in each partition.
    seed : int, optional
        Seed of the random data; a random one when not given.
    locale : str, optional
        Only ``"en"`` (or ``None``) is available.

    Returns
    -------
    oxdask.bag.Bag

    Examples
    --------
    >>> b = make_people(npartitions=2, records_per_partition=3, seed=1)
    >>> b.count().compute()
    6
    >>> sorted(b.take(1)[0])
    ['address', 'age', 'credit-card', 'name', 'occupation', 'telephone']
    """
    from oxdask.bag import Bag
    from oxdask.tokenize import tokenize

    if locale not in (None, "en"):
        raise ValueError(f"make_people: locale {locale!r} is not available; only 'en' is")
    if int(npartitions) != npartitions or npartitions < 1:
        raise ValueError(
            f"make_people: npartitions must be a positive integer, got {npartitions!r}"
        )
    if int(records_per_partition) != records_per_partition or records_per_partition < 0:
        raise ValueError(
            "make_people: records_per_partition must be a non-negative integer, "
            f"got {records_per_partition!r}"
        )
    npartitions, records_per_partition = int(npartitions), int(records_per_partition)
    if seed is None:
        seed = random.randrange(2**32)
    master = random.Random(seed)
    seeds = [master.randrange(2**32) for _ in range(npartitions)]
    name = "make-people-" + tokenize(npartitions, records_per_partition, seed)
    dsk = {(name, i): (_people_partition, records_per_partition, s) for i, s in enumerate(seeds)}
    return Bag(dsk, name, npartitions)
