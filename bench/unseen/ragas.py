"""Raga grammar for the independent "unseen" renderer.

Written from general music theory (no code or tables shared with crates/raga-synth).

Notation (one token per note, space separated):
  swara letters   S r R g G m M P d D n N
                  (r/g/d/n komal or Carnatic R1/G2/D1/N2, m shuddha Ma / M1,
                   M tivra Ma / M2, capital R G D N shuddha / R2 G3 D2 N3)
  octave          leading '.' = mandra (one per octave down), trailing "'" = tara
  length          each trailing '-' adds one beat to the note (default one beat)

Each raga gives:
  aroha / avaroha  one octave, from S to S' (aroha) and S' to S (avaroha); vakra
                   (zig-zag) movement is written out literally
  vadi / samvadi   the two emphasised swaras (longer, more frequent, accented)
  nyas             swaras a phrase may rest on
  phrases          pakad / prayogas, optionally "phrase|weight"
  weak             swaras to touch lightly (shorter)
  skip_sa          Sa is avoided inside fragments (Marwa)
  register         'low' (mandra/purvanga), 'mid', 'high' (uttaranga / tara)
  shruti           cents offsets from 12-TET for characteristic intonation
  orn              swara -> (ornament, direction); ornament is 'andolan'
                   (slow swing), 'kampita' (fast oscillation to a neighbour), or
                   'meend' (glide into the note from a neighbour)
"""

SWARA_CENTS = {
    "S": 0, "r": 100, "R": 200, "g": 300, "G": 400, "m": 500, "M": 600,
    "P": 700, "d": 800, "D": 900, "n": 1000, "N": 1100,
}

RAGAS = {
    # ----------------------------------------------------------------- Hindustani
    "yaman": dict(
        tradition="hindustani", notes="S R G M P D N",
        aroha="S R G M P D N S'", avaroha="S' N D P M G R S",
        vadi="G", samvadi="N", nyas="G P R N S",
        phrases=[".N R G- R S-|2", ".N .D .N R S-", ".N R G M P-", "P M G R G- R S",
                 "G M D N D P-|1.5", "M D N S'- N D P", "N R' S' N D P M G-", "M G R G- M G R S"],
        weak="", register="mid",
        orn={"N": ("meend", "up"), "R": ("meend", "down"), "G": ("kan", "up")},
    ),
    "bhoopali": dict(
        tradition="hindustani", notes="S R G P D",
        aroha="S R G P D S'", avaroha="S' D P G R S",
        vadi="G", samvadi="D", nyas="G P S R",
        phrases=["G R S .D S R G-|2", "P G D P G-", "G R P G-", "S' D P G R S-",
                 ".D S R G- R S", "G P D S'- D P G-"],
        weak="", register="mid",
        orn={"G": ("meend", "up"), "D": ("meend", "up")},
    ),
    "deshkar": dict(
        tradition="hindustani", notes="S R G P D",
        aroha="S G P D S'", avaroha="S' D P G P D P G R S",
        vadi="D", samvadi="G", nyas="P D G S'",
        phrases=["G P D- P|2", "P D S'- D P-", "G P D P G P-", "S' D S' D P-", "D P G P D-",
                 "P D S' R' S'- D P", "G P G R S-|0.4"],
        weak="R", register="high",
        orn={"D": ("meend", "down"), "G": ("kan", "up")},
    ),
    "bhairav": dict(
        tradition="hindustani", notes="S r G m P d N",
        shruti={"r": -12, "d": -12},
        aroha="S r G m P d N S'", avaroha="S' N d P m G r S",
        vadi="d", samvadi="r", nyas="d r S m P",
        phrases=["G m d- P-|2", "G m r- S", "S G m P d- P", "d N S' N d- P", "m G r- r S-",
                 ".N S r- S", "G m P G m r- S"],
        weak="", register="mid",
        orn={"r": ("andolan", "down"), "d": ("andolan", "down")},
    ),
    "miyan_ki_todi": dict(
        tradition="hindustani", notes="S r g M P d N",
        shruti={"r": -18, "g": -10, "d": -10},
        aroha="S r g M d N S'", avaroha="S' N d P M g r S",
        vadi="d", samvadi="g", nyas="d g r S",
        phrases=[".d .N S r g- r S|2", "r g- r S-", "M g r g- r S", "M d N S'-", "d M g r g M d-",
                 "d P- M d M g- r", "g M d N d- M g"],
        weak="P", register="mid",
        orn={"r": ("andolan", "down"), "g": ("andolan", "down"), "d": ("andolan", "down")},
    ),
    "darbari_kanada": dict(
        tradition="hindustani", notes="S R g m P d n",
        shruti={"g": -18, "d": -14},
        aroha="S R g m R S m P d n S'", avaroha="S' d n P m P g- m R S",
        vadi="R", samvadi="P", nyas="R P S g .d",
        phrases=["g- m R S-|2", ".d- .n .P-", ".n S R- S", "m P d- n P", ".d .n S R g- m R S",
                 "R g- m R- S", "P d- n S' d n P-"],
        weak="", register="low",
        orn={"g": ("andolan", "down"), "d": ("andolan", "down"), "n": ("meend", "up")},
    ),
    "malkauns": dict(
        tradition="hindustani", notes="S g m d n",
        aroha="S g m d n S'", avaroha="S' n d m g m g S",
        vadi="m", samvadi="S", nyas="m S g d",
        phrases=["m g m d n d m-|2", "g m g S-", ".n S g m-", "d n S' n d m-", "m d n d m g S-",
                 ".d .n S g- S"],
        weak="", register="mid",
        orn={"g": ("meend", "up"), "d": ("andolan", "down"), "n": ("meend", "down")},
    ),
    "marwa": dict(
        tradition="hindustani", notes="S r G M D N",
        aroha="S r G M D N S'", avaroha="S' N D M G r S",
        vadi="r", samvadi="D", nyas="r D G",
        phrases=[".D .N r- .N .D-|2", "M D N D M G r-", "G M D- M G r-", "r G M D-",
                 "D M G r-", ".N r G M D- N D-", "N r' N D- M D"],
        weak="", register="mid", skip_sa=True,
        orn={"r": ("meend", "down"), "D": ("meend", "up")},
    ),
    "puriya": dict(
        tradition="hindustani", notes="S r G M D N",
        aroha="S r G M D N S'", avaroha="S' N D M G r S",
        vadi="G", samvadi="N", nyas="G .N N S",
        phrases=[".N r G- M G r G-|2", ".M .D .N r S-", "G M D G M G-", ".N .D .N- r S",
                 "M D N- D M G-", ".N r .N .D .M .D .N-"],
        weak="", register="low",
        orn={"G": ("meend", "down"), "N": ("meend", "up")},
    ),
    "bageshri": dict(
        tradition="hindustani", notes="S R g m P D n",
        aroha="S g m D n S'", avaroha="S' n D m g R S",
        vadi="m", samvadi="S", nyas="m S g D",
        phrases=["g m D n D m g-|2", "m D n S'-", ".D .n S m g- R S", "g m D m-", "m P D m g-|0.6",
                 "S' n D m g m g R S"],
        weak="P", register="mid",
        orn={"g": ("meend", "up"), "D": ("meend", "down"), "n": ("kan", "up")},
    ),
    # ----------------------------------------------------------------- Carnatic
    "mohanam": dict(
        tradition="carnatic", notes="S R G P D",
        aroha="S R G P D S'", avaroha="S' D P G R S",
        vadi="G", samvadi="D", nyas="G P D S",
        phrases=["G P D S'-", "S' D P G R-", "P D P G R S-", "G G P G R-", "D S' R' S' D P-",
                 ".D S R G-"],
        weak="", register="mid",
        orn={"G": ("kampita", "down"), "D": ("kampita", "up"), "R": ("kampita", "up")},
    ),
    "kalyani": dict(
        tradition="carnatic", notes="S R G M P D N",
        aroha="S R G M P D N S'", avaroha="S' N D P M G R S",
        vadi="G", samvadi="N", nyas="G P N R S",
        phrases=["N D P M G R-", "G M P D N S'-", "M G R S .N-", "P M D P M G-", "R G M P-",
                 "S' N D N R' S'-"],
        weak="", register="mid",
        orn={"G": ("kampita", "up"), "M": ("kampita", "up"), "N": ("kampita", "up"), "R": ("kampita", "up")},
    ),
    "shankarabharanam": dict(
        tradition="carnatic", notes="S R G m P D N",
        aroha="S R G m P D N S'", avaroha="S' N D P m G R S",
        vadi="G", samvadi="N", nyas="G P S R",
        phrases=["S' N D P m G R S-", "G m P D N S'-", "P D N S' R' S'-", "m G m R G m P-",
                 "D N D P m G-", "G m R G m P-"],
        weak="", register="mid",
        orn={"R": ("kampita", "up"), "G": ("kampita", "up"), "N": ("kampita", "up"), "D": ("kampita", "up")},
    ),
    "mayamalavagowla": dict(
        tradition="carnatic", notes="S r G m P d N",
        aroha="S r G m P d N S'", avaroha="S' N d P m G r S",
        vadi="G", samvadi="N", nyas="G P S m",
        phrases=["S r G m P d N S'", "G m P d N d P-", "m G r S-", "P d N S'-", "r G m G r S-",
                 "d P m G m P-"],
        weak="", register="mid",
        orn={"G": ("kampita", "up"), "N": ("kampita", "up"), "d": ("meend", "up")},
    ),
    "hindolam": dict(
        tradition="carnatic", notes="S g m d n",
        aroha="S g m d n S'", avaroha="S' n d m g S",
        vadi="m", samvadi="S", nyas="m S g d",
        phrases=["m g S-", "d n S' n d m-", "g m d n d m g-", "S g m g S-", ".n S g m-",
                 "m d n S'-"],
        weak="", register="mid",
        orn={"g": ("kampita", "up"), "n": ("kampita", "up"), "d": ("kampita", "down")},
    ),
    "kharaharapriya": dict(
        tradition="carnatic", notes="S R g m P D n",
        aroha="S R g m P D n S'", avaroha="S' n D P m g R S",
        vadi="R", samvadi="P", nyas="R P g S",
        phrases=["R g m P D n S'-", "S' n D P m g R S", "P m g R g R S-", "n D n P D m P-",
                 "g m P D P m g R-", "R g m R g R S-"],
        weak="", register="mid",
        orn={"g": ("kampita", "up"), "n": ("kampita", "up"), "D": ("kampita", "down"), "R": ("kampita", "up")},
    ),
    "hanumatodi": dict(
        tradition="carnatic", notes="S r g m P d n",
        aroha="S r g m P d n S'", avaroha="S' n d P m g r S",
        vadi="g", samvadi="d", nyas="g d S m",
        phrases=["g m P d n d P-", "g r S-", "m g r g m g-", "d n S' n d P-", "P d n S' r' S'-",
                 "S' n d P m g r S"],
        weak="", register="mid",
        orn={"g": ("kampita", "both"), "d": ("kampita", "both"), "n": ("kampita", "up"), "r": ("meend", "down")},
    ),
    "hamsadhwani": dict(
        tradition="carnatic", notes="S R G P N",
        aroha="S R G P N S'", avaroha="S' N P G R S",
        vadi="G", samvadi="N", nyas="G P S N",
        phrases=["G P N S'-", "S' N P G R-", "P N S' R' S'-", "R G P G R S-", ".N S R G-",
                 "G R .N S-"],
        weak="", register="mid",
        orn={"N": ("kampita", "up"), "G": ("kampita", "up")},
    ),
    "abhogi": dict(
        tradition="carnatic", notes="S R g m D",
        aroha="S R g m D S'", avaroha="S' D m g R S",
        vadi="m", samvadi="S", nyas="m g D S",
        phrases=["g m D S'-", "S' D m g R-", "m g R g m-", "D S' R' S' D m-", "R g m D m g R S",
                 ".D S R g-"],
        weak="", register="mid",
        orn={"g": ("kampita", "up"), "D": ("kampita", "up")},
    ),
    "kambhoji": dict(
        # kaisiki nishada in descent; kakali nishada as a rare anya swara (N in "D N S'")
        tradition="carnatic", notes="S R G m P D n N",
        aroha="S R G m P D S'", avaroha="S' n D P m G R S",
        vadi="G", samvadi="D", nyas="G P D S",
        phrases=["S' n D P m G R S .n .P .D S-|1.5", "G m P D S'-", "m G P D S'-", "D P m G m P D-",
                 "R m G R S .n .D S-", "P D S' R' G' R' S'-", "P D N S'-|0.3"],
        weak="N", register="mid",
        orn={"G": ("kampita", "up"), "n": ("kampita", "up"), "R": ("kampita", "up"), "D": ("meend", "down")},
    ),
}


def parse_token(tok):
    """'.N-' -> ('N', octave -1, extra beats 1)."""
    oct_ = 0
    while tok.startswith("."):
        oct_ -= 1
        tok = tok[1:]
    extra = 0
    while tok.endswith("-"):
        extra += 1
        tok = tok[:-1]
    while tok.endswith("'"):
        oct_ += 1
        tok = tok[:-1]
    if tok not in SWARA_CENTS:
        raise ValueError(f"bad swara token {tok!r}")
    return tok, oct_, extra


def parse_seq(text):
    return [parse_token(t) for t in text.split()]


def check():
    for name, r in RAGAS.items():
        allowed = set(r["notes"].split())
        for field in ("aroha", "avaroha"):
            seq = parse_seq(r[field])
            assert all(s in allowed for s, _, _ in seq), (name, field)
        for ph in r["phrases"]:
            seq = parse_seq(ph.split("|")[0])
            assert all(s in allowed for s, _, _ in seq), (name, ph)
        for s in (r["vadi"], r["samvadi"]):
            assert s in allowed, (name, s)
        assert parse_seq(r["aroha"])[0][:2] == ("S", 0) and parse_seq(r["aroha"])[-1][:2] == ("S", 1), name
        assert parse_seq(r["avaroha"])[0][:2] == ("S", 1) and parse_seq(r["avaroha"])[-1][:2] == ("S", 0), name


check()
