"""The simulator's calibration: published figures with sources, assumptions, derived tables."""

# Calibration (sources in /work/shared/REFERENCE.md unless stated):
# - Turnout by age: Ipsos 2024 general-election figures, scaled to local-election level as
#   local = c * GE ** LOCAL_GRADIENT; the exponent makes the gradient steeper (local turnout is
#   lower in every band with a gradient at least as steep, Electoral Commission) and c sets the
#   overall level to LOCAL_TURNOUT. Result: ~13% for 18-24 up to ~59% for 65+ (4.5 times).
# - Postal voters 16.6% of electors (2012), postal turnout 68% (2012: 68.0%, 2017: 68.7%).
# - Ward turnout drawn between 16% and 53% with mean 34% (2016 English wards).
# - Canvassing contact rate 20-40% of attempts per session.
# Support by age and effect sizes of campaigning are illustrative assumptions, marked as such.

from __future__ import annotations

from itertools import accumulate

from streams.events import AGE_BANDS

# The six age bands an elector really is in (the register may also say "unknown").
BANDS = tuple(band for band in AGE_BANDS if band != "unknown")
# Adults by age band, England and Wales, approximately ONS mid-2022 population estimates
# (not in REFERENCE.md).
ADULT_AGE_SHARE = (0.107, 0.171, 0.163, 0.165, 0.157, 0.237)
# Ipsos, "How Britain voted in the 2024 election": turnout by age at the general election.
GE_2024_TURNOUT = (0.37, 0.41, 0.48, 0.55, 0.64, 0.73)
# Local turnout = c * GE ** 2.2: 65+ vote ~4.5x as often as 18-24 (2.0x at the general
# election); "at least as steep" (Electoral Commission, Wales 2022) - our choice of exponent.
LOCAL_GRADIENT = 2.2
LOCAL_TURNOUT = 0.34  # English local elections: 2016 ward mean 34%, 2017 35.1%, 2012 31.0%
POSTAL_SHARE = 0.166  # 2012: 16.6% of electors had a postal vote
POSTAL_TURNOUT = 0.68  # postal voters' turnout: 2012 68.0%, 2017 68.7%
POSTAL_AGE_TILT = (0.5, 0.55, 0.65, 0.85, 1.1, 1.75)  # assumption: older electors vote by post
WARD_TURNOUT = (0.16, 0.34, 0.53)  # 2016 English wards: lowest, mean, highest
WONT_VOTE_FACTOR = 0.3  # assumption: "won't vote" electors vote at 0.3x their age's rate
CAMPAIGN_SUPPORTER_BOOST = 0.35  # assumption: +0.35 logit (~+7 points) for supporters in
#                                  wards with campaign days (get-out-the-vote effect)
CONTACT_RATE = (0.20, 0.40)  # of door attempts per session (REFERENCE: typical 10-30%)
KNOCK_UP_CONTACT = 0.45  # assumption: pledged supporters, doors known to answer
KNOCK_UP_PERSUADED = 0.1  # assumption: knocked-up non-voters who then vote (a few points)
NOT_CONTACTED = ("not_home", "refused", "inaccessible", "moved")
NOT_CONTACTED_WEIGHTS = (72, 14, 10, 4)  # assumption
NOT_CONTACTED_CUM = list(accumulate(NOT_CONTACTED_WEIGHTS))
# Intention by age, as shares of: our party, main opponent, three others, UNDECIDED, WONT_SAY,
# WONT_VOTE. Illustrative assumption shaped like 2024 polling: the young lean to our party and
# the Greens, the old to the main opponent and Reform.
SUPPORT_BY_AGE = (
    (0.42, 0.07, 0.07, 0.14, 0.05, 0.11, 0.08, 0.06),
    (0.36, 0.11, 0.09, 0.11, 0.08, 0.12, 0.08, 0.05),
    (0.32, 0.15, 0.10, 0.08, 0.10, 0.12, 0.08, 0.05),
    (0.26, 0.21, 0.11, 0.06, 0.13, 0.11, 0.08, 0.04),
    (0.21, 0.27, 0.12, 0.04, 0.15, 0.10, 0.08, 0.03),
    (0.14, 0.38, 0.12, 0.03, 0.15, 0.08, 0.08, 0.02),
)
# In-person votes per hour 07-21 (REFERENCE: a smaller morning peak, the biggest in the early
# evening); the shape per age group is our assumption (retired electors vote in the day).
HOURLY_WORKING_AGE = (9, 10, 5, 3, 3, 4, 4, 3, 4, 7, 12, 14, 12, 8, 5)
HOURLY_65_PLUS = (3, 6, 9, 11, 11, 10, 9, 8, 7, 6, 5, 5, 4, 3, 2)
HOURLY_WORKING_CUM = list(accumulate(HOURLY_WORKING_AGE))
HOURLY_65_PLUS_CUM = list(accumulate(HOURLY_65_PLUS))
CAMPAIGN_WEEKS = 4
WARD_NAMES = (
    "Abbey", "Brooklands", "Castle", "Dalton", "Eastfield", "Fairfield", "Greenbank",
    "Hillside", "Ivy Green", "Jubilee", "Kingsway", "Longford", "Meadowbank", "Northgate",
    "Oakwood", "Parkside", "Queensway", "Riverside", "St Marys", "Talbot", "Upperby",
    "Victoria", "Westfield", "Yewtree", "Ashgrove", "Bridgend",
)  # fmt: skip


def _local_turnout_by_age() -> tuple[float, ...]:
    raw = [t**LOCAL_GRADIENT for t in GE_2024_TURNOUT]
    scale = LOCAL_TURNOUT / sum(s * r for s, r in zip(ADULT_AGE_SHARE, raw, strict=True))
    return tuple(scale * r for r in raw)


LOCAL_TURNOUT_BY_AGE = _local_turnout_by_age()
_tilt_norm = sum(s * t for s, t in zip(ADULT_AGE_SHARE, POSTAL_AGE_TILT, strict=True))
POSTAL_SHARE_BY_AGE = tuple(POSTAL_SHARE * t / _tilt_norm for t in POSTAL_AGE_TILT)
# In person: what is left of each band's turnout once its postal voters have voted.
IN_PERSON_TURNOUT_BY_AGE = tuple(
    (lt - ps * POSTAL_TURNOUT) / (1 - ps)
    for lt, ps in zip(LOCAL_TURNOUT_BY_AGE, POSTAL_SHARE_BY_AGE, strict=True)
)
