"""Readers, validation messages and domain selection on small files written per test."""

import re

import numpy as np
import pandas as pd
import pytest

from tfxdr.data import describe, load_dataset, parse_domains, select_domains
from tfxdr.data.grouplens import ML100K_GENRES
from tfxdr.data.table import RawDataset
from tfxdr.errors import DataError

EXPECTED_COLUMNS = "user_id,item_id,domain[,timestamp][,rating][,label]"


def raises(message):
    """Expects a DataError whose whole message is exactly ``message``."""
    return pytest.raises(DataError, match=f"^{re.escape(message)}$")


def write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def rows(frame):
    return frame.to_dict("list")


# --- RecBole atomic files ----------------------------------------------------------------------

RECBOLE_INTER = (
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    "u1\tm1\t4\t978300760\n"
    "u1\tm2\t3.5\t978300761\n"
    "u2\tm1\t5.0\t978300762.0\n"
)
RECBOLE_ITEM = (
    "item_id:token\tmovie_title:token\trelease_year:float\tgenre:token\n"
    'm1\t"Great" Expectations\t1998.0\tDrama Romance\n'
    "m2\tToy Story\t1995\tAnimation Children's Comedy\n"
    "m3\tUntitled\t\t\n"
)
RECBOLE_USER = "user_id:token\tage:float\tgender:token\nu1\t25\tF\nu2\t56\tM\n"


@pytest.fixture()
def recbole_dir(tmp_path):
    directory = tmp_path / "x"
    directory.mkdir()
    write(directory / "x.inter", RECBOLE_INTER)
    write(directory / "x.item", RECBOLE_ITEM)
    write(directory / "x.user", RECBOLE_USER)
    return directory


def test_recbole_atomic_files(recbole_dir):
    raw = load_dataset(recbole_dir)
    assert raw.name == "x"
    assert raw.source == {"format": "recbole", "path": str(recbole_dir)}
    inter = raw.interactions
    assert list(inter.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert inter["timestamp"].dtype == np.int64
    assert inter["rating"].dtype == np.float64
    assert rows(inter) == {
        "user_id": ["u1", "u1", "u2"],
        "item_id": ["m1", "m2", "m1"],
        "rating": [4.0, 3.5, 5.0],
        "timestamp": [978300760, 978300761, 978300762],
    }
    items = raw.items
    assert list(items.columns) == ["item_id", "movie_title", "year", "genres"]
    assert rows(items) == {
        "item_id": ["m1", "m2", "m3"],
        "movie_title": ['"Great" Expectations', "Toy Story", "Untitled"],
        "year": ["1998", "1995", ""],
        "genres": [("Drama", "Romance"), ("Animation", "Children's", "Comedy"), ()],
    }
    assert rows(raw.users) == {"user_id": ["u1", "u2"], "age": ["25", "56"], "gender": ["F", "M"]}


def test_recbole_without_side_files(tmp_path):
    write(tmp_path / "only.inter", "user_id:token\titem_id:token\nu1\tm1\n")
    raw = load_dataset(tmp_path)
    assert raw.users is None and raw.items is None
    assert rows(raw.interactions) == {"user_id": ["u1"], "item_id": ["m1"]}


def test_recbole_class_column_holds_genres(tmp_path):
    write(tmp_path / "y.inter", "user_id:token\titem_id:token\nu1\t1\n")
    write(tmp_path / "y.item", "item_id:token\tclass:token_seq\n1\tAction Thriller\n")
    items = load_dataset(tmp_path).items
    assert rows(items) == {"item_id": ["1"], "genres": [("Action", "Thriller")]}


def test_recbole_header_without_type_names_the_file(recbole_dir):
    inter = write(recbole_dir / "x.inter", "user_id\titem_id:token\nu1\tm1\n")
    with raises(f"{inter}: header 'user_id' is not of the form name:type"):
        load_dataset(recbole_dir)


def test_recbole_item_header_without_type_names_the_file(recbole_dir):
    item = write(recbole_dir / "x.item", "item_id:token\tgenre\nm1\tDrama\n")
    with raises(f"{item}: header 'genre' is not of the form name:type"):
        load_dataset(recbole_dir)


def test_recbole_missing_user_column(recbole_dir):
    inter = write(recbole_dir / "x.inter", "uid:token\titem_id:token\nu1\tm1\n")
    with raises(f"{inter}: missing column 'user_id'; found uid, item_id"):
        load_dataset(recbole_dir)


def test_recbole_bad_rating(recbole_dir):
    inter = write(recbole_dir / "x.inter", RECBOLE_INTER.replace("3.5", "good"))
    with raises(f"{inter}: column 'rating' line 3: 'good' is not a number"):
        load_dataset(recbole_dir)


def test_recbole_duplicate_item(recbole_dir):
    item = write(recbole_dir / "x.item", RECBOLE_ITEM + "m2\tAgain\t2000\tDrama\n")
    with raises(f"{item}: column 'item_id' line 5: duplicate id 'm2'"):
        load_dataset(recbole_dir)


# --- GroupLens ML-1M -----------------------------------------------------------------------------

ML1M_RATINGS = "1::10::5::978300760\n1::20::3::978300761\n2::20::4::978300762\n"
ML1M_MOVIES = (
    "10::Café au lait (1993)::Comedy|Romance\n"
    "20::City of Lost Children, The (1995)::Adventure|Sci-Fi\n"
    "30::Untitled::Drama\n"
)
ML1M_USERS = "1::F::1::10::48067\n2::M::56::16::00501\n"


@pytest.fixture()
def ml1m_dir(tmp_path):
    directory = tmp_path / "ml-1m"
    directory.mkdir()
    write(directory / "ratings.dat", ML1M_RATINGS, "latin-1")
    write(directory / "movies.dat", ML1M_MOVIES, "latin-1")
    write(directory / "users.dat", ML1M_USERS, "latin-1")
    return directory


def test_ml1m_grouplens_files(ml1m_dir):
    raw = load_dataset(ml1m_dir)
    assert raw.name == "ml-1m"
    assert raw.source == {"format": "grouplens-1m", "path": str(ml1m_dir)}
    assert raw.interactions["timestamp"].dtype == np.int64
    assert raw.interactions["rating"].dtype == np.float64
    assert rows(raw.interactions) == {
        "user_id": ["1", "1", "2"],
        "item_id": ["10", "20", "20"],
        "rating": [5.0, 3.0, 4.0],
        "timestamp": [978300760, 978300761, 978300762],
    }
    assert rows(raw.items) == {
        "item_id": ["10", "20", "30"],
        "title": ["Café au lait (1993)", "City of Lost Children, The (1995)", "Untitled"],
        "year": ["1993", "1995", ""],
        "genres": [("Comedy", "Romance"), ("Adventure", "Sci-Fi"), ("Drama",)],
    }
    assert rows(raw.users) == {
        "user_id": ["1", "2"], "gender": ["F", "M"], "age": ["1", "56"],
        "occupation": ["10", "16"], "zip_code": ["48067", "00501"],
    }


def test_ml1m_ratings_only(tmp_path):
    write(tmp_path / "ratings.dat", ML1M_RATINGS)
    raw = load_dataset(tmp_path)
    assert raw.users is None and raw.items is None
    assert len(raw.interactions) == 3


def test_ml1m_three_fields_per_line(ml1m_dir):
    ratings = write(ml1m_dir / "ratings.dat", "1::10::5\n1::20::3\n")
    with raises(f"{ratings}: found 3 fields per line, expected 4 "
                "(user_id, item_id, rating, timestamp)"):
        load_dataset(ml1m_dir)


def test_ml1m_one_short_line_is_named(ml1m_dir):
    ratings = write(ml1m_dir / "ratings.dat", "1::10::5::978300760\n1::20::3\n")
    with raises(f"{ratings}: line 2: found 3 fields, expected 4 "
                "(user_id, item_id, rating, timestamp)"):
        load_dataset(ml1m_dir)


def test_ml1m_short_movie_line_is_an_error_not_a_crash(ml1m_dir):
    movies = write(ml1m_dir / "movies.dat", "10::Heat (1995)::Action\n20::Casino (1995)\n")
    with raises(f"{movies}: line 2: found 2 fields, expected 3 (item_id, title, genres)"):
        load_dataset(ml1m_dir)


def test_ml1m_short_user_line_is_an_error(ml1m_dir):
    users = write(ml1m_dir / "users.dat", "1::F::1::10::48067\n2::M::56\n")
    with raises(f"{users}: line 2: found 3 fields, expected 5 "
                "(user_id, gender, age, occupation, zip_code)"):
        load_dataset(ml1m_dir)


def test_ml1m_bad_timestamp_counts_lines_from_one(ml1m_dir):
    ratings = write(ml1m_dir / "ratings.dat", "1::10::5::978300760\n1::20::3::soon\n")
    with raises(f"{ratings}: column 'timestamp' line 2: 'soon' is not a number"):
        load_dataset(ml1m_dir)


def test_ml1m_duplicate_movie(ml1m_dir):
    movies = write(ml1m_dir / "movies.dat", "10::A (1990)::Drama\n10::B (1991)::Comedy\n")
    with raises(f"{movies}: column 'item_id' line 2: duplicate id '10'"):
        load_dataset(ml1m_dir)


# --- GroupLens ML-100K ---------------------------------------------------------------------------

def _u_item_line(item_id, title, genres, flags=ML100K_GENRES):
    bits = "|".join("1" if g in genres else "0" for g in flags)
    return f"{item_id}|{title}|01-Jan-1995||http://us.imdb.com/M/title-exact?x|{bits}\n"


@pytest.fixture()
def ml100k_dir(tmp_path):
    directory = tmp_path / "ml-100k"
    directory.mkdir()
    write(directory / "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
                                "196\t302\t5\t881250950\n")
    write(directory / "u.item",
          _u_item_line(242, "Kolya (1996)", {"Comedy"})
          + _u_item_line(302, "L.A. Confidential (1997)",
                         {"Crime", "Film-Noir", "Mystery", "Thriller"})
          + _u_item_line(267, "unknown", {"unknown"})
          + _u_item_line(1, "Café Society (1995)", {"Children's", "Drama"}),
          "latin-1")
    write(directory / "u.user", "196|49|M|writer|55105\n186|39|F|executive|00000\n")
    return directory


def test_ml100k_grouplens_files(ml100k_dir):
    raw = load_dataset(ml100k_dir)
    assert raw.name == "ml-100k"
    assert raw.source == {"format": "grouplens-100k", "path": str(ml100k_dir)}
    assert raw.interactions["timestamp"].dtype == np.int64
    assert rows(raw.interactions) == {
        "user_id": ["196", "186", "196"],
        "item_id": ["242", "302", "302"],
        "rating": [3.0, 3.0, 5.0],
        "timestamp": [881250949, 891717742, 881250950],
    }
    assert rows(raw.items) == {
        "item_id": ["242", "302", "267", "1"],
        "title": ["Kolya (1996)", "L.A. Confidential (1997)", "unknown", "Café Society (1995)"],
        "year": ["1996", "1997", "", "1995"],
        "genres": [("Comedy",), ("Crime", "Film-Noir", "Mystery", "Thriller"), ("unknown",),
                   ("Children's", "Drama")],
    }
    assert rows(raw.users) == {
        "user_id": ["196", "186"], "age": ["49", "39"], "gender": ["M", "F"],
        "occupation": ["writer", "executive"], "zip_code": ["55105", "00000"],
    }


def test_ml100k_item_with_18_genre_flags(ml100k_dir):
    items = write(ml100k_dir / "u.item", _u_item_line(1, "A (1995)", {"Drama"}, ML100K_GENRES[1:]))
    names = ", ".join(["item_id", "title", "release_date", "video_release_date", "url",
                       *ML100K_GENRES])
    with raises(f"{items}: found 23 fields per line, expected 24 ({names})"):
        load_dataset(ml100k_dir)


def test_ml100k_short_line_in_u_data(ml100k_dir):
    data = write(ml100k_dir / "u.data", "196\t242\t3\t881250949\n186\t302\t3\n")
    with raises(f"{data}: line 2: found 3 fields, expected 4 "
                "(user_id, item_id, rating, timestamp)"):
        load_dataset(ml100k_dir)


def test_ml100k_empty_user_id(ml100k_dir):
    data = write(ml100k_dir / "u.data", "196\t242\t3\t881250949\n \t302\t3\t891717742\n")
    with raises(f"{data}: column 'user_id' line 2: empty value, expected an id"):
        load_dataset(ml100k_dir)


# --- the user's own interactions (CSV / Parquet) -------------------------------------------------

INTERACTIONS_CSV = (
    "user_id,item_id,domain,timestamp,rating,label\n"
    "u1,b1,books,100,4.5,1\n"
    "u1,m1,movies,101,3,0\n"
    "u2,b2,books,102,5,1\n"
    ' u2 ,"Dune, Part 1",movies,103,1,1\n'
)
INTERACTIONS_ROWS = {
    "user_id": ["u1", "u1", "u2", "u2"],
    "item_id": ["b1", "m1", "b2", "Dune, Part 1"],
    "domain": ["books", "movies", "books", "movies"],
    "timestamp": [100, 101, 102, 103],
    "rating": [4.5, 3.0, 5.0, 1.0],
    "label": [1, 0, 1, 1],
}
USERS_CSV = "user_id,age,zip\nu1,25,00501\nu2,31,\n"
ITEMS_CSV = (
    "item_id,genres,kind\n"
    "b1,Fantasy|Adventure,book\n"
    "m1,,film\n"
    "b2,Drama,book\n"
    '"Dune, Part 1",Sci-Fi,film\n'
)
ITEMS_ROWS = {
    "item_id": ["b1", "m1", "b2", "Dune, Part 1"],
    "genres": [("Fantasy", "Adventure"), (), ("Drama",), ("Sci-Fi",)],
    "kind": ["book", "film", "book", "film"],
}
USERS_ROWS = {"user_id": ["u1", "u2"], "age": ["25", "31"], "zip": ["00501", ""]}


def _check_interactions(raw):
    frame = raw.interactions
    assert list(frame.columns) == ["user_id", "item_id", "domain", "timestamp", "rating", "label"]
    assert frame["timestamp"].dtype == np.int64
    assert frame["rating"].dtype == np.float64
    assert frame["label"].dtype == np.int8
    assert rows(frame) == INTERACTIONS_ROWS


def test_interactions_csv_with_feature_tables(tmp_path):
    path = write(tmp_path / "clicks.csv", INTERACTIONS_CSV)
    users = write(tmp_path / "u.csv", USERS_CSV)
    items = write(tmp_path / "i.csv", ITEMS_CSV)
    raw = load_dataset(path, user_features=users, item_features=items)
    assert raw.name == "clicks"
    assert raw.source == {"format": "interactions", "path": str(path),
                          "user_features": str(users), "item_features": str(items)}
    _check_interactions(raw)
    assert rows(raw.users) == USERS_ROWS
    assert rows(raw.items) == ITEMS_ROWS


def test_interactions_csv_without_optional_columns(tmp_path):
    path = write(tmp_path / "x.csv", " user_id , item_id ,domain\nu1,i1,a\n")
    raw = load_dataset(str(path))
    assert rows(raw.interactions) == {"user_id": ["u1"], "item_id": ["i1"], "domain": ["a"]}
    assert raw.users is None and raw.items is None


def test_interactions_parquet_with_feature_tables(tmp_path):
    frame = pd.DataFrame(INTERACTIONS_ROWS)
    frame["user_id"] = frame["user_id"].str.replace("u", "")  # integer ids in Parquet
    frame["user_id"] = frame["user_id"].astype(np.int64)
    frame["rating"] = frame["rating"].astype(np.float32)
    frame.to_parquet(tmp_path / "clicks.parquet")
    pd.DataFrame({"user_id": [1, 2], "age": [25, None]}).to_parquet(tmp_path / "users.pq")
    pd.DataFrame({"item_id": ITEMS_ROWS["item_id"],
                  "genres": ["Fantasy|Adventure", None, "Drama", "Sci-Fi"],
                  "kind": ITEMS_ROWS["kind"]}).to_parquet(tmp_path / "items.parquet")
    raw = load_dataset(tmp_path / "clicks.parquet", user_features=tmp_path / "users.pq",
                       item_features=tmp_path / "items.parquet")
    assert rows(raw.interactions) == {**INTERACTIONS_ROWS, "user_id": ["1", "1", "2", "2"]}
    assert raw.interactions["timestamp"].dtype == np.int64
    assert raw.interactions["rating"].dtype == np.float64
    assert raw.interactions["label"].dtype == np.int8
    assert rows(raw.users) == {"user_id": ["1", "2"], "age": ["25.0", ""]}
    assert rows(raw.items) == ITEMS_ROWS


def test_directory_convention_csv(tmp_path):
    write(tmp_path / "interactions.csv", INTERACTIONS_CSV)
    write(tmp_path / "users.csv", USERS_CSV)
    write(tmp_path / "items.csv", ITEMS_CSV)
    raw = load_dataset(tmp_path)
    assert raw.name == "interactions"
    assert raw.source == {"format": "interactions", "path": str(tmp_path / "interactions.csv"),
                          "user_features": str(tmp_path / "users.csv"),
                          "item_features": str(tmp_path / "items.csv")}
    _check_interactions(raw)
    assert rows(raw.users) == USERS_ROWS
    assert rows(raw.items) == ITEMS_ROWS


def test_directory_convention_explicit_tables_win(tmp_path):
    write(tmp_path / "interactions.csv", INTERACTIONS_CSV)
    write(tmp_path / "users.csv", "no_key\n1\n")  # would fail if it were read
    other = write(tmp_path / "other_users.csv", USERS_CSV)
    raw = load_dataset(tmp_path, user_features=other)
    assert rows(raw.users) == USERS_ROWS
    assert raw.items is None


def test_directory_convention_parquet(tmp_path):
    pd.DataFrame(INTERACTIONS_ROWS).to_parquet(tmp_path / "interactions.parquet")
    items = ["b1", "m1", "b2", "Dune, Part 1"]  # every item has a row; values may be empty
    pd.DataFrame({"item_id": items, "genres": ["Drama|War", "", "", ""]}).to_parquet(
        tmp_path / "items.pq")
    raw = load_dataset(tmp_path)
    _check_interactions(raw)
    assert raw.users is None
    assert rows(raw.items) == {"item_id": items, "genres": [("Drama", "War"), (), (), ()]}


# --- bad input: one exact line each --------------------------------------------------------------

BAD_CSV = [
    ("user_id,item_id\nu1,i1\n",
     f"missing column 'domain'; expected columns {EXPECTED_COLUMNS}"),
    ("user_id,domain,item\nu1,a,i1\n",
     f"missing column 'item_id'; expected columns {EXPECTED_COLUMNS}"),
    ("user_id,item_id,domain,score\nu1,i1,a,1\n",
     f"unexpected column 'score'; expected columns {EXPECTED_COLUMNS}"),
    ("user_id,item_id,domain,rating\nu1,i1,a,4\nu2,i2,a,good\n",
     "column 'rating' line 3: 'good' is not a number"),
    ("user_id,item_id,domain,rating\nu1,i1,a,\n",
     "column 'rating' line 2: '' is not a number"),
    ("user_id,item_id,domain,rating\nu1,i1,a,nan\n",
     "column 'rating' line 2: 'nan' is not a number"),
    ("user_id,item_id,domain,timestamp\nu1,i1,a,2020-01-01\n",
     "column 'timestamp' line 2: '2020-01-01' is not a number"),
    ("user_id,item_id,domain,timestamp\nu1,i1,a,1\nu1,i2,a,100.5\n",
     "column 'timestamp' line 3: '100.5' is not a whole number"),
    ("user_id,item_id,domain,timestamp\nu1,i1,a,1e30\n",
     "column 'timestamp' line 2: '1e30' is out of the 64-bit integer range"),
    ("user_id,item_id,domain,label\nu1,i1,a,1\nu1,i2,a,0\nu1,i3,a,2\n",
     "column 'label' line 4: '2' is not a click label, expected 0 or 1"),
    ("user_id,item_id,domain,label\nu1,i1,a,yes\n",
     "column 'label' line 2: 'yes' is not a number"),
    ("user_id,item_id,domain\nu1,i1,a\n,i2,a\n",
     "column 'user_id' line 3: empty value, expected an id"),
    ("user_id,item_id,domain\n   ,i2,a\n",
     "column 'user_id' line 2: empty value, expected an id"),
    ("user_id,item_id,domain\nu1,i1,\n",
     "column 'domain' line 2: empty value, expected an id"),
    ("user_id,item_id,domain\n",
     "no interactions (the table has no rows)"),
    ("", "the file is empty"),
]


@pytest.mark.parametrize("text,message", BAD_CSV)
def test_bad_interactions_csv(tmp_path, text, message):
    path = write(tmp_path / "bad.csv", text)
    with raises(f"{path}: {message}"):
        load_dataset(path)


def test_parquet_null_id_is_empty(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"user_id": ["u1", None], "item_id": ["i1", "i2"],
                  "domain": ["a", "a"]}).to_parquet(path)
    with raises(f"{path}: column 'user_id' line 3: empty value, expected an id"):
        load_dataset(path)


def test_parquet_fractional_timestamp_is_quoted_plainly(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["i1", "i2"], "domain": ["a", "a"],
                  "timestamp": [1.0, 2.5]}).to_parquet(path)
    with raises(f"{path}: column 'timestamp' line 3: 2.5 is not a whole number"):
        load_dataset(path)


def test_unreadable_parquet(tmp_path):
    path = write(tmp_path / "x.parquet", "not parquet")
    with pytest.raises(DataError, match=f"^{re.escape(f'{path}: cannot be read as Parquet: ')}"):
        load_dataset(path)


def test_duplicate_id_in_feature_table(tmp_path):
    path = write(tmp_path / "x.csv", "user_id,item_id,domain\nu1,i1,a\n")
    items = write(tmp_path / "items.csv", "item_id,kind\ni1,a\ni2,b\ni1,c\n")
    with raises(f"{items}: column 'item_id' line 4: duplicate id 'i1'"):
        load_dataset(path, item_features=items)


def test_feature_table_without_key(tmp_path):
    path = write(tmp_path / "x.csv", "user_id,item_id,domain\nu1,i1,a\n")
    users = write(tmp_path / "users.csv", "id,age\nu1,3\n")
    with raises(f"{users}: missing column 'user_id'; expected user_id plus feature columns"):
        load_dataset(path, user_features=users)


def test_feature_table_empty_key(tmp_path):
    path = write(tmp_path / "x.csv", "user_id,item_id,domain\nu1,i1,a\n")
    items = write(tmp_path / "items.csv", "item_id,kind\ni1,a\n,b\n")
    with raises(f"{items}: column 'item_id' line 3: empty value, expected an id"):
        load_dataset(path, item_features=items)


def test_feature_table_missing_file(tmp_path):
    path = write(tmp_path / "x.csv", "user_id,item_id,domain\nu1,i1,a\n")
    with raises(f"{tmp_path / 'nope.csv'}: no such file"):
        load_dataset(path, item_features=tmp_path / "nope.csv")


def test_feature_table_unsupported_suffix(tmp_path):
    path = write(tmp_path / "x.csv", "user_id,item_id,domain\nu1,i1,a\n")
    users = write(tmp_path / "users.json", "{}")
    with raises(f"{users}: unsupported file type '.json', expected .csv or .parquet"):
        load_dataset(path, user_features=users)


def test_unsupported_suffix(tmp_path):
    path = write(tmp_path / "ratings.tsv", "user_id\titem_id\tdomain\n")
    with raises(f"{path}: unsupported file type '.tsv', expected .csv or .parquet"):
        load_dataset(path)


@pytest.mark.parametrize("name", ["missing.csv", "missing_dir"])
def test_nonexistent_path(tmp_path, name):
    with raises(f"{tmp_path / name}: no such file or directory"):
        load_dataset(tmp_path / name)


def test_nonexistent_relative_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with raises("clicks.csv: no such file or directory"):
        load_dataset("clicks.csv")


def test_unknown_dataset_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with raises("unknown dataset 'ml-2m': expected one of ml-1m, ml-100k or a path to an "
                "interactions file or directory"):
        load_dataset("ml-2m")


def test_directory_without_known_files(tmp_path):
    write(tmp_path / "notes.txt", "hello\n")
    with raises(f"{tmp_path}: found no ratings.dat, u.data, single *.inter file or "
                "interactions.csv/.parquet"):
        load_dataset(tmp_path)


# --- domains ------------------------------------------------------------------------------------

@pytest.fixture()
def clicks_csv(tmp_path):
    return write(tmp_path / "clicks.csv", INTERACTIONS_CSV)


def test_select_domains_by_column(clicks_csv):
    chosen = select_domains(load_dataset(clicks_csv), ["movies", "books"])
    assert chosen.domains == ("movies", "books")
    assert chosen.dataset == "clicks"
    assert chosen.has_timestamps
    assert rows(chosen.frame) == INTERACTIONS_ROWS  # already in user, time order
    assert rows(chosen.domain_frame("books"))["item_id"] == ["b1", "b2"]


def test_select_domains_min_rating_by_column(clicks_csv):
    chosen = select_domains(load_dataset(clicks_csv), ["books", "movies"], min_rating=3)
    assert rows(chosen.frame)["item_id"] == ["b1", "m1", "b2"]


def test_unknown_domain_lists_available(clicks_csv):
    with raises(f"{clicks_csv}: domain 'games' not found in column 'domain'; "
                "available: books, movies"):
        select_domains(load_dataset(clicks_csv), ["books", "games"])


def test_domain_left_empty_by_min_rating(clicks_csv):
    with raises(f"{clicks_csv}: domain 'movies' has no interactions with rating >= 4.5"):
        select_domains(load_dataset(clicks_csv), ["books", "movies"], min_rating=4.5)


def test_min_rating_needs_rating_column(tmp_path):
    path = write(tmp_path / "x.csv", "user_id,item_id,domain\nu1,i1,a\nu1,i2,b\n")
    with raises(f"{path}: min_rating=4.0 needs a 'rating' column"):
        select_domains(load_dataset(path), ["a", "b"], min_rating=4.0)


def test_invalid_overlap_rule(clicks_csv):
    with raises("overlap rule 'both' is invalid: expected one of drop, first, last, second"):
        select_domains(load_dataset(clicks_csv), ["books", "movies"], overlap="both")


def _genre_dataset(shuffle=False, timestamps=True):
    items = pd.DataFrame({
        "item_id": ["m1", "m2", "m3", "m4", "m5"],
        "genres": [("Drama",), ("Comedy",), ("Drama", "Comedy"), ("Comedy", "Romance", "Drama"),
                   ("Action",)],
    })
    interactions = pd.DataFrame({
        "user_id": ["u2", "u2", "u1", "u1", "u1", "u1", "u1", "u2"],
        "item_id": ["m2", "m3", "m1", "m2", "m3", "m4", "m5", "m1"],
        "rating": [5.0, 2.0, 4.0, 1.0, 5.0, 3.0, 5.0, 4.0],
        "timestamp": [7, 6, 3, 1, 2, 4, 5, 6],
    })
    if not timestamps:
        interactions = interactions.drop(columns=["timestamp"])
    if shuffle:
        interactions = interactions.sample(frac=1.0, random_state=3).reset_index(drop=True)
        items = items.iloc[::-1].reset_index(drop=True)
    return RawDataset("genres", interactions, None, items, {"format": "test", "path": "g"})


def _pairs(chosen):
    return list(zip(chosen.frame["user_id"], chosen.frame["item_id"], chosen.frame["domain"]))


def test_genre_domains_drop_rule():
    chosen = select_domains(_genre_dataset(), ["Drama", "Comedy"])
    assert chosen.domains == ("Drama", "Comedy")
    assert _pairs(chosen) == [("u1", "m2", "Comedy"), ("u1", "m1", "Drama"),
                              ("u2", "m1", "Drama"), ("u2", "m2", "Comedy")]
    assert rows(chosen.frame)["timestamp"] == [1, 3, 6, 7]


def test_genre_domains_first_rule_follows_the_listed_order():
    chosen = select_domains(_genre_dataset(), ["Drama", "Comedy"], overlap="first")
    assert _pairs(chosen) == [
        ("u1", "m2", "Comedy"), ("u1", "m3", "Drama"), ("u1", "m1", "Drama"),
        ("u1", "m4", "Drama"), ("u2", "m1", "Drama"), ("u2", "m3", "Drama"),
        ("u2", "m2", "Comedy"),
    ]
    swapped = select_domains(_genre_dataset(), ["Comedy", "Drama"], overlap="first")
    assert dict(zip(swapped.frame["item_id"], swapped.frame["domain"])) == {
        "m1": "Drama", "m2": "Comedy", "m3": "Comedy", "m4": "Comedy"}


def test_genre_domains_second_rule():
    chosen = select_domains(_genre_dataset(), ["Drama", "Comedy"], overlap="second")
    assert dict(zip(chosen.frame["item_id"], chosen.frame["domain"])) == {
        "m1": "Drama", "m2": "Comedy", "m3": "Comedy", "m4": "Comedy"}
    assert len(chosen.frame) == 7


def test_genre_domains_last_rule_over_three_domains():
    # m3 is Drama and Comedy, m4 Comedy, Romance and Drama: each goes to the last
    # listed domain it belongs to; "second" is the same rule.
    domains = ["Drama", "Comedy", "Romance"]
    for rule in ("last", "second"):
        chosen = select_domains(_genre_dataset(), domains, overlap=rule)
        assert dict(zip(chosen.frame["item_id"], chosen.frame["domain"])) == {
            "m1": "Drama", "m2": "Comedy", "m3": "Comedy", "m4": "Romance"}
    first = select_domains(_genre_dataset(), domains[::-1], overlap="first")
    assert dict(zip(first.frame["item_id"], first.frame["domain"])) == {
        "m1": "Drama", "m2": "Comedy", "m3": "Comedy", "m4": "Romance"}


def test_genre_domains_min_rating():
    chosen = select_domains(_genre_dataset(), ["Drama", "Comedy"], overlap="first", min_rating=4)
    assert _pairs(chosen) == [("u1", "m3", "Drama"), ("u1", "m1", "Drama"),
                              ("u2", "m1", "Drama"), ("u2", "m2", "Comedy")]


def test_genre_domains_order_is_deterministic():
    for overlap in ("drop", "first", "second"):
        for timestamps in (True, False):
            a = select_domains(_genre_dataset(False, timestamps), ["Drama", "Comedy"], overlap)
            b = select_domains(_genre_dataset(True, timestamps), ["Drama", "Comedy"], overlap)
            pd.testing.assert_frame_equal(a.frame, b.frame)
            assert list(a.frame.index) == list(range(len(a.frame)))


def test_genre_domains_without_timestamps_sort_by_user_domain_item():
    chosen = select_domains(_genre_dataset(timestamps=False), ["Drama", "Comedy"], "first")
    assert not chosen.has_timestamps
    assert _pairs(chosen) == [
        ("u1", "m2", "Comedy"), ("u1", "m1", "Drama"), ("u1", "m3", "Drama"),
        ("u1", "m4", "Drama"), ("u2", "m2", "Comedy"), ("u2", "m1", "Drama"),
        ("u2", "m3", "Drama"),
    ]


def test_unknown_genre_lists_available():
    with raises("g: genre 'Western' not found; available: Action, Comedy, Drama, Romance"):
        select_domains(_genre_dataset(), ["Drama", "Western"])


def test_genre_with_no_interactions():
    raw = _genre_dataset()
    raw.interactions = raw.interactions[raw.interactions["item_id"] != "m2"]
    with raises("g: domain 'Comedy' has no interactions"):
        select_domains(raw, ["Drama", "Comedy"])


def test_genre_domain_emptied_by_min_rating():
    with raises("g: domain 'Drama' has no interactions with rating >= 5.0"):
        select_domains(_genre_dataset(), ["Drama", "Comedy"], min_rating=5.0)


def test_genre_domains_need_genres(tmp_path):
    write(tmp_path / "z.inter", "user_id:token\titem_id:token\nu1\tm1\n")
    with raises(f"{tmp_path}: no 'domain' column and no item genres to build domains from"):
        select_domains(load_dataset(tmp_path), ["Drama", "Comedy"])


def test_genre_domains_from_grouplens_files(ml1m_dir):
    write(ml1m_dir / "ratings.dat", ML1M_RATINGS + "2::10::2::978300763\n2::30::5::978300764\n")
    chosen = select_domains(load_dataset(ml1m_dir), ["Drama", "Comedy"])
    assert _pairs(chosen) == [("1", "10", "Comedy"), ("2", "10", "Comedy"), ("2", "30", "Drama")]


def test_parse_domains():
    assert parse_domains("Drama,Comedy") == ("Drama", "Comedy")
    assert parse_domains(" Drama , Comedy ,War") == ("Drama", "Comedy", "War")
    assert parse_domains(["books", "movies"]) == ("books", "movies")


@pytest.mark.parametrize("text,message", [
    ("Drama", "domains 'Drama': expected at least two comma-separated domain names"),
    ("Drama,", "domains 'Drama,': expected at least two comma-separated domain names"),
    ("Drama,,Comedy", "domains 'Drama,,Comedy': expected at least two comma-separated "
                      "domain names"),
    ("Drama,Drama", "domains 'Drama,Drama': a domain is listed twice"),
    ("Drama, Comedy, Drama", "domains 'Drama, Comedy, Drama': a domain is listed twice"),
])
def test_parse_domains_rejects(text, message):
    with raises(message):
        parse_domains(text)


# --- real MovieLens ------------------------------------------------------------------------------

@pytest.mark.integration
def test_ml1m_drama_comedy_statistics():
    report = describe(select_domains(load_dataset("ml-1m", quiet=True), ["Drama", "Comedy"]))
    assert report["all_users"] == 6040
    assert report["overlap_users"] == 5991
    assert report["overlap"]["Drama"]["users"] == 5991
    assert report["overlap"]["Drama"]["items"] == 1278
    assert report["overlap"]["Comedy"]["items"] == 948


@pytest.mark.integration
def test_ml100k_loads():
    raw = load_dataset("ml-100k", quiet=True)
    assert raw.name == "ml-100k"
    assert raw.source["dataset"] == "ml-100k"
    assert raw.interactions["user_id"].nunique() == 943
    assert len(raw.interactions) == 100000
    assert len(raw.items) == 1682
    assert raw.interactions["timestamp"].dtype == np.int64


def test_boolean_parquet_label_reads_as_zero_one(tmp_path):
    import pandas as pd

    from tfxdr.data import load_dataset

    path = tmp_path / "clicks.parquet"
    pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["i1", "i2"], "domain": ["a", "b"],
                  "label": [True, False]}).to_parquet(path)
    assert load_dataset(path).interactions["label"].tolist() == [1, 0]
