"""The simulator's calibration: published figures with their sources, assumptions, derived tables.

Each constant names its source next to it (publication, table or figure, year); constants
marked "assumption" are illustrative choices, not published figures. There are no official
turnout figures by age in the UK, and survey estimates differ, so the age gradient is a
survey estimate scaled to local-election level: local = c * GE ** LOCAL_GRADIENT, with c set so
that overall turnout is LOCAL_TURNOUT. Result: ~13% for 18-24 up to ~59% for 65+ (4.5 times).
"""

from __future__ import annotations

from itertools import accumulate

from streams.events import AGE_BANDS

# The six age bands an elector really is in (the register may also say "unknown").
BANDS = tuple(band for band in AGE_BANDS if band != "unknown")
# ONS, mid-2022 population estimates, England and Wales: adults by age band (approximate shares).
ADULT_AGE_SHARE = (0.107, 0.171, 0.163, 0.165, 0.157, 0.237)
# Ipsos, "How Britain voted in the 2024 election" (2024), turnout by age: share of resident
# adults who voted at the 2024 general election, 18-24 ... 65+.
GE_2024_TURNOUT = (0.37, 0.41, 0.48, 0.55, 0.64, 0.73)
# Local turnout is lower than general-election turnout in every age band, with the age
# gradient at least as steep (Electoral Commission, May 2022 local elections in Wales: turnout
# lowest among under-35s). The exponent is our choice within that: 65+ vote ~4.5x as often as
# 18-24 (2.0x at the 2024 general election).
LOCAL_GRADIENT = 2.2
# English local elections, overall turnout (Electoral Commission): May 2017 35.1%, May 2012
# 31.0%; the mean ward turnout in May 2016 was 34% (see WARD_TURNOUT).
LOCAL_TURNOUT = 0.34
# Electoral Commission, May 2012 English local elections: 16.6% of electors had a postal vote.
POSTAL_SHARE = 0.166
# Electoral Commission, English local elections, turnout of postal voters: May 2012 68.0%
# (in person 24.2%); May 2017 68.7% (in person 28.8%).
POSTAL_TURNOUT = 0.68
POSTAL_AGE_TILT = (0.5, 0.55, 0.65, 0.85, 1.1, 1.75)  # assumption: older electors vote by post
# English local elections, May 2016, turnout by ward: lowest 16%, mean 34%, highest 53% (ward
# results as compiled for this calibration; no single publication is named for them).
WARD_TURNOUT = (0.16, 0.34, 0.53)
WONT_VOTE_FACTOR = 0.3  # assumption: "won't vote" electors vote at 0.3x their age's rate
# Assumption: +0.35 logit (~+7 points) for supporters in wards with campaign days (the
# get-out-the-vote effect). Priors: Green, Gerber & Nickerson, "Getting Out the Vote in Local
# Elections: Results from Six Door-to-Door Canvassing Experiments" (Journal of Politics, 2003)
# found that face-to-face contact raised turnout in US municipal elections; Bhatti, Dahlgaard,
# Hansen & Hansen, "Is Door-to-Door Canvassing Effective in Europe? Evidence from a Meta-study
# across Six European Countries" (British Journal of Political Science, 2016) found a much
# smaller pooled effect in Europe. Both effects here are meant to be small.
CAMPAIGN_SUPPORTER_BOOST = 0.35
# Assumption: 20-40% of door attempts per session reach the elector. Campaigners' usual figure
# is 10-30% of doors attempted (practice, no published source); ours is set a little higher.
CONTACT_RATE = (0.20, 0.40)
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
# In-person votes per hour, 07:00-21:00 starts (polls are open 07:00-22:00). The UK publishes
# no figures by hour ("No official information is available": Home Office answer, Hansard,
# 23 January 1975), so the shape is an assumption: a smaller morning peak and the biggest in
# the early evening, as in Elections Canada's survey of electors (2020, figure 20: 30% of
# election-day voters before noon, 42% from 16:00 to the close) and Gibraltar's 2021
# referendum (GBC report: busiest 09:00-10:00 and 17:00-18:00). Retired electors vote in the day.
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
