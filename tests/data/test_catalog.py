"""Reading styles.csv: a corpus of bad inputs, each with the report it must give, and the real file."""

from __future__ import annotations

import pandas as pd
import pytest
from _catalog_helpers import DEFAULTS, HEADER, csv_text, row, tree_digest, write_dataset

from fashion_review.data.catalog import REQUIRED_COLUMNS, load_catalog
from fashion_review.errors import DataError

IMAGES = range(1, 10)


def _name(pid):
    return lambda cat: cat.df.at[pid, "productDisplayName"]


# ---------------------------------------------------------------------------------------------
# The corpus: input -> (kind, lines, message fragment), plus what the catalog must look like.
# Every case loads (no exception); ``check`` asserts the recovered content.


def _check_recovered_comma(cat):
    assert list(cat.df.index) == [1, 2, 3]
    assert cat.df.at[2, "productDisplayName"] == "Puma, Black Shoes"
    assert cat.df.at[2, "articleType"] == "Shirts"
    assert cat.df.at[2, "line"] == 3


def _check_skipped_comma(cat):
    assert list(cat.df.index) == [1, 3]
    assert list(cat.df["line"]) == [2, 4]


def _check_several(cat):
    assert list(cat.df.index) == [1, 2, 3, 4, 5, 6]
    assert cat.df.at[2, "productDisplayName"] == "A, B"
    assert cat.df.at[4, "productDisplayName"] == "C, D, E"
    assert cat.df.at[6, "productDisplayName"] == "F,"  # the real file's shape: nothing after the comma


def _check_short(cat):
    assert cat.df.at[2, "articleType"] == "Shirts"
    for col in ("baseColour", "season", "year", "usage", "productDisplayName"):
        assert cat.df.at[2, col] == ""
    assert cat.df.at[3, "productDisplayName"] == "Plain Shirt"


def _check_duplicate(cat):
    assert list(cat.df.index) == [1, 2, 3]
    assert cat.df.at[2, "productDisplayName"] == "First"
    assert cat.df.at[2, "line"] == 3
    assert cat.report.of_kind("duplicate_id")[0].product_id == "2"


def _check_bom(cat):
    assert cat.had_bom
    assert list(cat.df.index) == [1, 2]
    assert "\ufeffid" not in cat.columns and cat.columns[0] == "id"


def _check_crlf(cat):
    assert cat.line_terminator == "\r\n"
    assert cat.df.at[2, "productDisplayName"] == "Plain Shirt"  # no stray "\r"
    assert not cat.df["productDisplayName"].str.contains("\r").any()


def _check_extra_columns(cat):
    assert cat.columns[-1] == "rating"
    assert list(cat.df["rating"]) == ["5", "4"]
    assert cat.df.at[2, "productDisplayName"] == "Plain Shirt"


def _check_reordered(cat):
    assert cat.df.at[1, "articleType"] == "Heels"
    assert cat.df.at[1, "gender"] == "Women"
    assert cat.df.at[1, "productDisplayName"] == "Red Heels"
    assert cat.df.at[2, "baseColour"] == "Black"


def _check_header_only(cat):
    assert len(cat) == 0
    assert list(cat.df.columns[:3]) == ["gender", "masterCategory", "subCategory"]


def _check_missing_image(cat):
    assert cat.df["has_image"].tolist() == [True, False, True, False]


def _check_no_images_folder(cat):
    assert not cat.df["has_image"].any()
    assert cat.report.count("missing_image") == 3


def _check_encoding(cat):
    assert cat.df.at[2, "productDisplayName"] == "Café Shirt"  # the Latin-1 line
    assert cat.df.at[3, "productDisplayName"] == "Crème Shirt"  # a valid UTF-8 line stays UTF-8
    assert cat.df.at[4, "productDisplayName"] == "Naïve Shirt"


def _check_embedded_newline(cat):
    assert cat.df.at[1, "productDisplayName"] == "Two\nLines"
    assert cat.df.at[1, "line"] == 2  # the line the row starts on
    assert list(cat.df["line"]) == [2, 4, 5, 6]


def _check_raw_quote(cat):
    assert cat.df.at[2, "productDisplayName"] == "Nike Women's EM Tempo 3.5\" Pink Short"
    assert list(cat.df["line"]) == [2, 3, 4, 5]


def _check_unbalanced_quote(cat):
    assert list(cat.df.index) == [1, 2, 3, 4]  # nothing swallowed by the open quote
    assert cat.df.at[2, "productDisplayName"] == '"Open quote'
    assert list(cat.df["line"]) == [2, 3, 4, 5]


def _check_bad_toml(cat):
    assert cat.settings == {}
    assert len(cat) == 1


def _check_bad_min_images(cat):
    assert "min_images" not in cat.settings
    assert cat.settings["other"] == 1


def _check_blank_lines(cat):
    assert list(cat.df["line"]) == [2, 4, 6]


def _blank(column):
    def check(cat):
        assert [p.column for p in cat.report.of_kind("blank_field")] == [column, column]
        assert [p.product_id for p in cat.report.of_kind("blank_field")] == ["2", "4"]
        assert cat.df.at[2, column] == "" and cat.df.at[4, column] == ""
        assert cat.df.at[1, column] == DEFAULTS[column]

    return pytest.param(
        csv_text(row(1), row(2, **{column: ""}), row(3), row(4, **{column: "  "})),
        {},
        "blank_field",
        [3, 5],
        f"{column} is blank",
        check,
        id=f"blank-{column}",
    )


REORDERED_HEADER = "productDisplayName,articleType,id,baseColour,gender,masterCategory,subCategory,season,year,usage"

CORPUS = [
    pytest.param(
        csv_text(row(1), row(2, productDisplayName="Puma, Black Shoes"), row(3)),
        {},
        "malformed_row",
        [3],
        "11 fields instead of 10 (an unquoted comma in productDisplayName); recovered",
        _check_recovered_comma,
        id="unquoted-comma-recovered",
    ),
    pytest.param(
        csv_text(row(1), row(2, productDisplayName="Puma, Black Shoes"), row(3)),
        {"skip_malformed": True},
        "malformed_row",
        [3],
        "11 fields instead of 10; row skipped",
        _check_skipped_comma,
        id="unquoted-comma-skipped",
    ),
    pytest.param(
        csv_text(
            row(1),
            row(2, productDisplayName="A, B"),
            row(3),
            row(4, productDisplayName="C, D, E"),
            row(5),
            row(6, productDisplayName="F,"),
        ),
        {},
        "malformed_row",
        [3, 5, 7],
        "recovered by joining them into the name",
        _check_several,
        id="several-malformed",
    ),
    pytest.param(
        csv_text(row(1), "2,Men,Apparel,Topwear,Shirts", row(3)),
        {},
        "short_row",
        [3],
        "5 field(s) instead of 10; the missing ones are left blank",
        _check_short,
        id="short-row",
    ),
    _blank("season"),
    _blank("year"),
    _blank("usage"),
    _blank("articleType"),
    pytest.param(
        csv_text(row(1), row(2, productDisplayName="First"), row(3), row(2, productDisplayName="Second")),
        {},
        "duplicate_id",
        [5],
        "id 2 already on line 3; the first is kept",
        _check_duplicate,
        id="duplicate-id",
    ),
    pytest.param(
        "\ufeff" + csv_text(row(1), row(2)),
        {},
        "bom",
        [1],
        "byte-order mark",
        _check_bom,
        id="bom",
    ),
    pytest.param(
        csv_text(row(1), row(2), nl="\r\n"),
        {},
        "crlf",
        [1],
        "CRLF",
        _check_crlf,
        id="crlf",
    ),
    pytest.param(
        csv_text(row(1) + ",5", row(2) + ",4", header=HEADER + ",rating"),
        {},
        "extra_columns",
        [1],
        "extra column(s) kept as they are: rating",
        _check_extra_columns,
        id="extra-column",
    ),
    pytest.param(
        csv_text(
            "Red Heels,Heels,1,Red,Women,Footwear,Shoe,Summer,2012,Casual",
            "Black Shirt,Shirts,2,Black,Men,Apparel,Topwear,Fall,2011,Formal",
            header=REORDERED_HEADER,
        ),
        {},
        "reordered_columns",
        [1],
        "read by name",
        _check_reordered,
        id="reordered-columns",
    ),
    pytest.param(
        HEADER + "\n", {}, "no_rows", [1], "no product rows after the header", _check_header_only, id="header-only"
    ),
    pytest.param(
        csv_text(row(1), row(10), row(2), row(11)),
        {},
        "missing_image",
        [3, 5],
        ".jpg: not found (product on line",
        _check_missing_image,
        id="missing-image",
    ),
    pytest.param(
        # lines 3 and 5 in Latin-1, line 4 valid UTF-8
        csv_text(row(1), row(2, productDisplayName="Caf\udce9 Shirt"), row(3, productDisplayName="Crème Shirt"),
                 row(4, productDisplayName="Na\udcefve Shirt")).encode("utf-8", "surrogateescape"),
        {},
        "encoding",
        [3, 5],
        "bytes that are not UTF-8 (this line read as Latin-1)",
        _check_encoding,
        id="non-utf8",
    ),
    pytest.param(
        csv_text(
            row(1, productDisplayName='"Two\nLines"'),
            row(2),
            row(3, productDisplayName="Stray, Comma"),
            row(4),
        ),
        {},
        "malformed_row",
        [5],  # after a record spanning lines 2-3
        "styles.csv:5: 11 fields",
        _check_embedded_newline,
        id="embedded-newline",
    ),
    pytest.param(
        csv_text(
            row(1),
            row(2, productDisplayName="Nike Women's EM Tempo 3.5\" Pink Short"),
            row(3),
            row(4, productDisplayName="After, Quote"),
        ),
        {},
        "malformed_row",
        [5],
        "styles.csv:5: 11 fields",
        _check_raw_quote,
        id="raw-quote-mid-field",
    ),
    pytest.param(
        csv_text(row(1), row(2, productDisplayName='"Open quote'), row(3), row(4)),
        {},
        "unbalanced_quote",
        [3],
        "styles.csv:3: a quote opened on this line is not closed",
        _check_unbalanced_quote,
        id="unbalanced-quote",
    ),
    pytest.param(
        csv_text(row(1), "", row(2), "", row(3)),
        {},
        "short_row",  # blank lines are no defect (not short rows); they only count as lines
        [],
        "",
        _check_blank_lines,
        id="blank-lines",
    ),
]


@pytest.mark.parametrize(("content", "kwargs", "kind", "lines", "fragment", "check"), CORPUS)
def test_bad_input_is_reported_and_still_loads(tmp_path, content, kwargs, kind, lines, fragment, check):
    data = write_dataset(tmp_path / "data", content, IMAGES)
    cat = load_catalog(data, **kwargs)
    report = cat.report
    assert report.count(kind) == len(lines), report.summary()
    assert report.lines(kind) == lines
    for problem in report.of_kind(kind):
        assert fragment in problem.message
        if problem.line is not None and kind not in ("missing_image",):
            assert f":{problem.line}:" in problem.message or problem.line == 1
    # the summary a user sees names the kind and its count
    if lines:
        assert f"{kind}: {len(lines)}" in report.summary()
    check(cat)


# ---------------------------------------------------------------------------------------------
# Ids that are not positive integers: reported, dropped, never turned into a path


@pytest.mark.parametrize(
    "bad_id",
    ["abc", "-5", "0", "000", "12.5", "1e3", "../../etc/passwd", "../outside", "", " ", "+7", "0x1F",
     "99999999999999999999", "٣"],
)
def test_bad_ids_are_reported_and_never_used(tmp_path, bad_id, monkeypatch):
    data = write_dataset(tmp_path / "data", csv_text(row(1), row(bad_id), row(2)), IMAGES)
    # a file the bad id would point at if it were ever used to build a path
    (data / "outside.jpg").write_bytes(b"x")
    built: list = []
    real_truediv = type(data).__truediv__

    def spy(self, other):
        built.append(str(other))
        return real_truediv(self, other)

    with monkeypatch.context() as m:
        m.setattr(type(data), "__truediv__", spy)
        cat = load_catalog(data)
    assert built  # the spy saw the paths the reader did build

    assert cat.report.count("bad_id") == 1
    (problem,) = cat.report.of_kind("bad_id")
    assert problem.line == 3
    shown = repr(bad_id.strip()) if bad_id.strip() else "'(blank)'"
    assert problem.message == f"styles.csv:3: id {shown} is not a positive integer; row skipped"
    assert list(cat.df.index) == [1, 2]
    assert cat.df.index.dtype == "int64"
    assert bad_id.strip() == "" or not any(bad_id.strip() in part for part in built)
    for pid in cat.df.index:
        assert cat.image_path(pid).parent == cat.images_dir


# ---------------------------------------------------------------------------------------------
# Fatal: a missing required column (and no file at all)


@pytest.mark.parametrize("column", ["id", "articleType", "productDisplayName", "gender"])
def test_missing_required_column_is_fatal_and_named(tmp_path, column):
    cols = [c for c in REQUIRED_COLUMNS if c != column]
    lines = [",".join(cols)] + [",".join("x" if c != "id" else "1" for c in cols)]
    data = write_dataset(tmp_path / "data", "\n".join(lines) + "\n", IMAGES)
    with pytest.raises(DataError) as err:
        load_catalog(data)
    msg = str(err.value)
    assert f"styles.csv:1: required column '{column}' missing from the header" in msg
    assert "\n" not in msg


def test_several_missing_columns_are_all_named(tmp_path):
    data = write_dataset(tmp_path / "data", "id,gender,year\n1,Men,2011\n", IMAGES)
    with pytest.raises(DataError, match=r"required columns 'masterCategory', 'subCategory', 'articleType', "
                       r"'baseColour', 'season', 'usage', 'productDisplayName' missing"):
        load_catalog(data)


@pytest.mark.parametrize("content", ["", "\n\n", b"\xef\xbb\xbf"], ids=["empty", "blank-lines", "bom-only"])
def test_empty_file_is_fatal(tmp_path, content):
    data = write_dataset(tmp_path / "data", content, IMAGES)
    with pytest.raises(DataError, match=r"styles.csv: the file is empty \(expected a header line with id, gender"):
        load_catalog(data)


def test_duplicate_header_column_is_fatal(tmp_path):
    data = write_dataset(tmp_path / "data", csv_text(row(1) + ",Women", header=HEADER + ",gender"), IMAGES)
    with pytest.raises(DataError, match=r"column\(s\) 'gender' appear more than once"):
        load_catalog(data)


def test_no_styles_csv(tmp_path):
    with pytest.raises(DataError, match=r"no such file \(expected the catalog's styles.csv\)"):
        load_catalog(tmp_path)
    with pytest.raises(DataError, match="no data set given"):
        load_catalog()


def test_missing_images_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "styles.csv").write_text(csv_text(row(1), row(2), row(3)))
    cat = load_catalog(data)
    (p,) = cat.report.of_kind("no_images_folder")
    assert p.message == f"{data / 'images'}: images folder not found; every product is without image"
    assert cat.report.lines("missing_image") == [2, 3, 4]
    _check_no_images_folder(cat)


@pytest.mark.parametrize(
    ("toml", "fragment", "check"),
    [
        ("min_images = [unclosed\n", "ignored, not valid TOML", _check_bad_toml),
        ("min_images = -3\nother = 1\n", "min_images must be a positive integer, not -3; ignored", _check_bad_min_images),
        ("min_images = 'ten'\nother = 1\n", "min_images must be a positive integer, not 'ten'", _check_bad_min_images),
        (b"min_images = 5 # \xff\n", "ignored, not valid TOML", _check_bad_toml),
    ],
    ids=["syntax", "negative", "string", "not-utf8"],
)
def test_bad_settings_file(tmp_path, toml, fragment, check):
    data = write_dataset(tmp_path / "data", csv_text(row(1)), IMAGES)
    target = data / "fashion-review.toml"
    target.write_bytes(toml if isinstance(toml, bytes) else toml.encode())
    cat = load_catalog(data)
    assert cat.report.count("settings") == 1
    (p,) = cat.report.of_kind("settings")
    assert str(target) in p.message and fragment in p.message
    check(cat)


def test_good_settings_file(tmp_path):
    data = write_dataset(tmp_path / "data", csv_text(row(1)), IMAGES)
    (data / "fashion-review.toml").write_text("min_images = 7\n")
    cat = load_catalog(data)
    assert cat.settings == {"min_images": 7}
    assert cat.report.count("settings") == 0


def test_clean_file_reports_nothing(tmp_path):
    data = write_dataset(tmp_path / "data", csv_text(row(1), row(2), row(3)), IMAGES)
    cat = load_catalog(data)
    assert cat.report.counts() == {}
    assert cat.report.summary().endswith("no problems found")
    assert cat.df.index.name == "id" and cat.df.index.dtype == "int64"
    assert list(cat.df.columns) == [*REQUIRED_COLUMNS[1:], "line", "has_image"]
    assert cat.df["has_image"].dtype == bool and cat.df["line"].dtype == "int64"


def test_report_keeps_exact_counts_beyond_the_message_cap(tmp_path):
    from fashion_review.data.catalog import MAX_MESSAGES_PER_KIND

    n = MAX_MESSAGES_PER_KIND + 25
    rows = [row(i, productDisplayName=f"A, {i}") for i in range(1, n + 1)]
    data = write_dataset(tmp_path / "data", csv_text(*rows), ())
    cat = load_catalog(data)
    assert cat.report.count("malformed_row") == n
    assert len(cat.report.of_kind("malformed_row")) == MAX_MESSAGES_PER_KIND
    assert "... and 220 more" in cat.report.summary(per_kind=5)
    assert len(cat) == n


# ---------------------------------------------------------------------------------------------
# The data set is never written; both ways of naming it give the same catalog


def _messy_dataset(folder):
    text = "\ufeff" + csv_text(
        row(1),
        row(2, productDisplayName="Puma, Black Shoes"),
        row(3, season=""),
        row(2, productDisplayName="dupe"),
        row("abc"),
        row(4, productDisplayName='"Two\r\nLines"'),
        row(5),
        nl="\r\n",
    )
    data = write_dataset(folder, text, [1, 2, 3, 5])
    (data / "fashion-review.toml").write_text("min_images = 1\n")
    return data


def test_data_folder_is_byte_identical_after_use(tmp_path):
    from fashion_review.data.dataset import open_dataset
    from fashion_review.data.export import export_catalog

    data = _messy_dataset(tmp_path / "data")
    before = tree_digest(data)
    assert len(before) == 6
    load_catalog(data)
    load_catalog(data, skip_malformed=True)
    ds = open_dataset(data)
    try:
        ds.store.correct(1, "articleType", "Tshirts", old_value="Shirts")
        ds.stats()
        ds.split("articleType")
        export_catalog(ds, tmp_path / "out.csv")
    finally:
        ds.close()
    assert tree_digest(data) == before


def test_data_dir_and_explicit_paths_give_the_same_catalog(tmp_path):
    data = _messy_dataset(tmp_path / "data")
    by_dir = load_catalog(data)
    by_paths = load_catalog(csv_path=data / "styles.csv", images_dir=data / "images")
    by_csv_as_data = load_catalog(data / "styles.csv")
    for other in (by_paths, by_csv_as_data):
        pd.testing.assert_frame_equal(by_dir.df, other.df)
        assert other.fingerprint == by_dir.fingerprint
        assert other.report.counts() == by_dir.report.counts()
        assert other.report.problems == by_dir.report.problems
        assert (other.csv_path, other.images_dir) == (by_dir.csv_path, by_dir.images_dir)
    assert by_dir.report.counts() == {
        "bom": 1, "crlf": 1, "malformed_row": 1, "blank_field": 1, "duplicate_id": 1, "bad_id": 1,
        "missing_image": 1,
    }
    assert by_dir.df.at[4, "productDisplayName"] == "Two\r\nLines"
    assert list(by_dir.df["line"]) == [2, 3, 4, 7, 9]


def test_images_folder_elsewhere(tmp_path):
    data = write_dataset(tmp_path / "data", csv_text(row(1), row(2)), [])
    other = write_dataset(tmp_path / "elsewhere", csv_text(row(9)), [2]) / "images"
    cat = load_catalog(csv_path=data / "styles.csv", images_dir=other)
    assert cat.images_dir == other.resolve()
    assert cat.df["has_image"].tolist() == [False, True]
    assert cat.image_path(2) == other.resolve() / "2.jpg"


def test_fingerprint_follows_the_bytes(tmp_path):
    a = load_catalog(write_dataset(tmp_path / "a", csv_text(row(1)), ()))
    b = load_catalog(write_dataset(tmp_path / "b", csv_text(row(1)), (1,)))
    c = load_catalog(write_dataset(tmp_path / "c", csv_text(row(1), nl="\r\n"), ()))
    assert a.fingerprint == b.fingerprint != c.fingerprint


# ---------------------------------------------------------------------------------------------
# The real file (shared data)

REAL_MALFORMED_LINES = [  # from ../shared/data/README.md
    6044, 6569, 7399, 7939, 9026, 10264, 10427, 10905, 11373, 11945, 14112, 14532,
    15076, 29906, 31625, 33020, 35748, 35962, 37770, 38105, 38275, 38404,
]


@pytest.fixture(scope="module")
def real_catalog(shared_data):
    return load_catalog(shared_data)


def test_real_file_recovers_the_22_malformed_rows(real_catalog, shared_data):
    cat = real_catalog
    assert cat.malformed_lines == REAL_MALFORMED_LINES
    assert cat.report.count("malformed_row") == 22
    assert len(cat) == 44_446
    raw_lines = (shared_data / "styles.csv").read_text(encoding="utf-8").splitlines()
    by_line = cat.df.reset_index().set_index("line")
    for line in REAL_MALFORMED_LINES:
        pid = by_line.at[line, "id"]
        fields = raw_lines[line - 1].split(",")
        assert len(fields) == 11 and fields[0] == str(pid)
        # recovered: the name is the two last fields joined back with their comma
        assert by_line.at[line, "productDisplayName"] == ",".join(fields[9:])
        assert by_line.at[line, "articleType"] == fields[4]
    # every row's line number points at the row's own line in the file
    assert all(raw_lines[ln - 1].startswith(f"{pid},") for pid, ln in zip(cat.df.index, cat.df["line"]))


def test_real_file_quirks(real_catalog):
    cat = real_catalog
    blanks = pd.Series([p.column for p in cat.report.of_kind("blank_field")]).value_counts().to_dict()
    assert {k: blanks.get(k, 0) for k in ("season", "year", "usage")} == {"season": 21, "year": 1, "usage": 1}
    quoted = cat.df.loc[cat.df["productDisplayName"].str.contains('3.5"', regex=False), "productDisplayName"]
    assert len(quoted) == 2 and "Nike Women's EM Tempo 3.5\" Pink Short" in set(quoted)
    assert not cat.df.loc[[12347, 39401, 39403, 39410, 39425], "has_image"].any()
    assert cat.report.count("duplicate_id") == 0 and cat.report.count("bad_id") == 0


def test_real_file_skip_malformed_reads_as_the_paper(shared_data, real_catalog):
    cat = load_catalog(shared_data, skip_malformed=True)
    assert len(cat) == 44_424
    assert cat.malformed_lines == REAL_MALFORMED_LINES
    assert not cat.df["line"].isin(REAL_MALFORMED_LINES).any()
    # everything else is read exactly as in recovering mode
    kept = real_catalog.df[~real_catalog.df["line"].isin(REAL_MALFORMED_LINES)]
    pd.testing.assert_frame_equal(cat.df, kept)
