"""Where the suite's data comes from, and the checksums it is checked against
(``python -m tests.support.data fetch DIR``; README, "Test data").

Which checksums are the publishers' own, and which were computed here:

- ``lfw-deepfunneled.tgz`` and LFW's ``pairs.txt``: the MD5s LFW's home page publishes for them
  (recorded by torchvision and TensorFlow Datasets too). ``pairs.txt``'s SHA-256 was computed from
  a copy whose MD5 is the published one (davidsandberg/facenet, data/pairs.txt).
- The sample photos and the module holding Wikidata's Q42 come from public GitHub repositories at
  the commits named in their URLs: their SHA-256s were computed from those commits' files, which
  are byte for byte the copies in ../shared/data (their git blob ids agree).
- LFW's per-image gender lists (Afifi and Abdelhamed, 2017) are shared from the authors' Google
  Drive folder, which a script cannot download from, and no checksum of them could be had here:
  they are fetched by hand, and the ``catalog.csv`` made from them is checked instead.
- Every file the suite reads (``FILES``, ``SAMPLES``) and the set of LFW photos (``LFW_PHOTOS``):
  SHA-256s computed from the copies in ../shared/data, which the suite was written against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Download:
    """One file to download: ``name`` is where it goes (relative), ``digest`` its checksum by
    ``algorithm`` (None: none could be established; what is made of it is checked instead)."""

    name: str
    url: str
    algorithm: str = "sha256"
    digest: str | None = None
    manual: str = ""  # set: how to get it by hand, when a script cannot


@dataclass(frozen=True)
class Sources:
    downloads: tuple[Download, ...]  # into DIR/downloads
    samples: tuple[Download, ...]  # into DIR itself, used as they are
    lfw_people: tuple[str, ...]
    lfw_archive: str
    lfw_prefix: str  # the archive's top folder
    lfw_pairs: str
    gender_lists: tuple[str, str]  # female, male
    wikidata_module: str
    files: dict[str, str] = field(default_factory=dict)  # path in DIR -> SHA-256
    lfw_photos_digest: str = ""  # data_fetch.lfw_tree_digest of the photos


LFW_HOME = "http://vis-www.cs.umass.edu/lfw"
FACE_RECOGNITION = (
    "https://raw.githubusercontent.com/ageitgey/face_recognition/2e2dccea9dd0ce730c8d464d0f67c6eebb40c9d1"
)
DLIB_FACES = "https://raw.githubusercontent.com/davisking/dlib/3d40bf5790ca9073c160cebb898800d9f33e12ab/examples/faces"
WPTOOLS = "https://raw.githubusercontent.com/siznax/wptools/a98a544f206a62c9f04fd34c0805825a8d531936"
GENDER_LISTS = (
    "LFW's per-image gender lists (Afifi and Abdelhamed, 2017) are in the authors' Google Drive folder, "
    "https://bit.ly/lfw-gender, which a script cannot download from: save female_names.txt and male_names.txt"
)

FILES = {
    "lfw/pairs.txt": "b8e8c8e1da79c19a34e9cb719016a463166c53ab5114fdb4fc5923fa6e4aeb5b",
    "lfw/catalog.csv": "1df5a079bb017b16978fddcacdfcd13c910f13aff402b46b5f20b3c802d2fcf7",
    "wikidata/Q42.json": "56b34d9aa7a8e43c1f83483a0580f657585f4a6a6231a7b3161e4d4bb5c66ffa",
}
SAMPLES = {  # path in DIR: (source, SHA-256)
    "samples/face_recognition/alex-lacamoire.png": (
        f"{FACE_RECOGNITION}/examples/alex-lacamoire.png",
        "affd4bba70510b20286c5b392e6a73ef149f4dff02105a09e19ce80d7d138707",
    ),
    "samples/face_recognition/biden.jpg": (
        f"{FACE_RECOGNITION}/examples/biden.jpg",
        "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c",
    ),
    "samples/face_recognition/knn_examples/test/alex_lacamoire1.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/test/alex_lacamoire1.jpg",
        "69c21d12ef62965b8c409db5672783ac1532cc7bfd2beffe81003fb3bd580364",
    ),
    "samples/face_recognition/knn_examples/test/johnsnow_test1.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/test/johnsnow_test1.jpg",
        "eb08fa837c8a86051eb6ca5370b76bb926a7f7deef8c449d06f9a280267f80b5",
    ),
    "samples/face_recognition/knn_examples/test/kit_with_rose.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/test/kit_with_rose.jpg",
        "b8ecc2e34fe0af3101cf7b7dc0502c51d3b48d972b200462e7f5359a7c609fec",
    ),
    "samples/face_recognition/knn_examples/test/obama1.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/test/obama1.jpg",
        "a2840cf4fd84072fc998e54033665793ca78fc5be77da0aba6e6b95d99d0ad15",
    ),
    "samples/face_recognition/knn_examples/test/obama_and_biden.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/test/obama_and_biden.jpg",
        "b8781c1f734616a942ce67626e104151f7d891bc7064ae8a3db175f064357a1a",
    ),
    "samples/face_recognition/knn_examples/train/alex_lacamoire/img1.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/train/alex_lacamoire/img1.jpg",
        "348e0a705ebd86f531553298348913a0483a70c966f1eebea5d8409b2421516b",
    ),
    "samples/face_recognition/knn_examples/train/biden/biden.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/train/biden/biden.jpg",
        "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c",
    ),
    "samples/face_recognition/knn_examples/train/biden/biden2.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/train/biden/biden2.jpg",
        "593ae76f7fdafe582535e288751e665f0533d5c9d5dc7264db24d7e6b6ce4730",
    ),
    "samples/face_recognition/knn_examples/train/kit_harington/john1.jpeg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/train/kit_harington/john1.jpeg",
        "74872ce95f0af6366f2b58a7017b72debf6ed91c197fe7bf6a759c32ebe06543",
    ),
    "samples/face_recognition/knn_examples/train/kit_harington/john2.jpeg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/train/kit_harington/john2.jpeg",
        "c0970011d277d4772d488f60478b59fce212dabe824ce8e0c8032673ccad76ac",
    ),
    "samples/face_recognition/knn_examples/train/obama/obama.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/train/obama/obama.jpg",
        "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
    ),
    "samples/face_recognition/knn_examples/train/obama/obama2.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/train/obama/obama2.jpg",
        "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6",
    ),
    "samples/face_recognition/knn_examples/train/rose_leslie/img1.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/train/rose_leslie/img1.jpg",
        "0f3903bcc72a9c54ea8fb2075464fd6dc74a4fe55a09e8095ab948020b697baa",
    ),
    "samples/face_recognition/knn_examples/train/rose_leslie/img2.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/train/rose_leslie/img2.jpg",
        "274a9c97300ed1657faa1c293979c75013f2998ee0403c79fbbc10be67b442d2",
    ),
    "samples/face_recognition/lin-manuel-miranda.png": (
        f"{FACE_RECOGNITION}/examples/lin-manuel-miranda.png",
        "1f29c132951d7741431b32aaaf569d79a11bc690b04b843f12b7e306f080599a",
    ),
    "samples/face_recognition/obama-1080p.jpg": (
        f"{FACE_RECOGNITION}/examples/obama-1080p.jpg",
        "7f4554fa0e4cceea0cb74b72cbf990c25cac681504f6477cbfacb9ad3466bae8",
    ),
    "samples/face_recognition/obama-240p.jpg": (
        f"{FACE_RECOGNITION}/examples/obama-240p.jpg",
        "c2ee0d1070d2bdb9da76da876e3312bc8a07d543b6664af5390b8c3612d8cf62",
    ),
    "samples/face_recognition/obama-480p.jpg": (
        f"{FACE_RECOGNITION}/examples/obama-480p.jpg",
        "55fc3ee1c2affe97b6451af4743c200d96d94d52309ae6413e28da79dcd890c0",
    ),
    "samples/face_recognition/obama-720p.jpg": (
        f"{FACE_RECOGNITION}/examples/obama-720p.jpg",
        "4a95b996710ae9cb39971f9ee9001b670c7ab7babe53d39f10483da1d6b31453",
    ),
    "samples/face_recognition/obama.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/train/obama/obama.jpg",
        "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
    ),
    "samples/face_recognition/obama2.jpg": (
        f"{FACE_RECOGNITION}/examples/knn_examples/train/obama/obama2.jpg",
        "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6",
    ),
    "samples/face_recognition/obama3.jpg": (
        f"{FACE_RECOGNITION}/tests/test_images/obama3.jpg",
        "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3",
    ),
    "samples/face_recognition/obama_partial_face.jpg": (
        f"{FACE_RECOGNITION}/tests/test_images/obama_partial_face.jpg",
        "c2d1f09e7ef3042352b41e41286e6eb0522f64f88308be13886991b95db52117",
    ),
    "samples/face_recognition/obama_partial_face2.jpg": (
        f"{FACE_RECOGNITION}/tests/test_images/obama_partial_face2.jpg",
        "9a812347f97633542b8cd9992de22def11b74f79d82056bc3ee830f13878e028",
    ),
    "samples/face_recognition/obama_small.jpg": (
        f"{FACE_RECOGNITION}/examples/obama_small.jpg",
        "a17d127a14c9bd57ef79ce5e89a7b4003b641ef98c2e17be4e1acbb049d6eb24",
    ),
    "samples/face_recognition/two_people.jpg": (
        f"{FACE_RECOGNITION}/examples/two_people.jpg",
        "536b29cd513fb618e4d5aa79d51a279948daa804ce359463449cce5f9dc68aa7",
    ),
    "samples/dlib_faces/2007_007763.jpg": (
        f"{DLIB_FACES}/2007_007763.jpg",
        "17d9897dd55d38179f51dc18371b3f4495a606aaa2846e25a3cb6a58b3a97c89",
    ),
    "samples/dlib_faces/2008_001009.jpg": (
        f"{DLIB_FACES}/2008_001009.jpg",
        "2509864113a286bf245161d0317a18c38b6a6641135969847a7e59dff359c52c",
    ),
    "samples/dlib_faces/2008_001322.jpg": (
        f"{DLIB_FACES}/2008_001322.jpg",
        "2ea5a60f5347baab8da6eccce43b0320d63da1368d7710fb15cbff8a790bc626",
    ),
    "samples/dlib_faces/2008_002079.jpg": (
        f"{DLIB_FACES}/2008_002079.jpg",
        "f929bdf416d756b37eb90c119b892eba5d21041b134883e18d827bce641fb48f",
    ),
    "samples/dlib_faces/2008_002470.jpg": (
        f"{DLIB_FACES}/2008_002470.jpg",
        "14b543e3ac55b497aaaba9dc03a39be04c8ae670851b3f78f9f5adb08295d780",
    ),
    "samples/dlib_faces/2008_002506.jpg": (
        f"{DLIB_FACES}/2008_002506.jpg",
        "ede6804edf0ec005144ffe7f0f2b56bd2aa1d21beee79d29f72cb16ead19a447",
    ),
    "samples/dlib_faces/2008_004176.jpg": (
        f"{DLIB_FACES}/2008_004176.jpg",
        "92a075f5e1d279f009ab4809592aaf0109e429adf3266e5aa8ce2755730b41c2",
    ),
    "samples/dlib_faces/2008_007676.jpg": (
        f"{DLIB_FACES}/2008_007676.jpg",
        "09a0e07d6fb3b4276e73b9f6450b5c69d97d3e3b75807948caf6defd40260e6f",
    ),
    "samples/dlib_faces/2009_004587.jpg": (
        f"{DLIB_FACES}/2009_004587.jpg",
        "2dc5d52a5388499cf912d7d99dc9d05e4bec7651153331f40e81ae4813bb317c",
    ),
    "samples/dlib_faces/Tom_Cruise_avp_2014_4.jpg": (
        f"{DLIB_FACES}/Tom_Cruise_avp_2014_4.jpg",
        "d9bea1c716b461c15ac3bc7e256bb5efa3e04379d7131f9347e96e4baa6a37c6",
    ),
    "samples/dlib_faces/bald_guys.jpg": (
        f"{DLIB_FACES}/bald_guys.jpg",
        "e0c40697dbd9a07684274f71760bc5161468e926ba75ff90d48b168019402e8b",
    ),
    "samples/dlib_faces/dogs.jpg": (
        f"{DLIB_FACES}/dogs.jpg",
        "66e22f8c3bd3b8f876ad9158caaa064992d2b56a5681d9c6efa163a59db7ed03",
    ),
}
LFW_PHOTOS = "eac59df881e07369133a7a5ea28064f060e9ada7349bfc0412d6ddbeec6b513b"

SOURCES = Sources(
    downloads=(
        Download("lfw-deepfunneled.tgz", f"{LFW_HOME}/lfw-deepfunneled.tgz", "md5", "68331da3eb755a505a502b5aacb3c201"),
        Download(
            "pairs.txt",
            f"{LFW_HOME}/pairs.txt",
            "sha256",
            "ea42330c62c92989f9d7c03237ed5d591365e89b3e649747777b70e692dc1592",
        ),
        Download("female_names.txt", "https://bit.ly/lfw-gender", manual=GENDER_LISTS),
        Download("male_names.txt", "https://bit.ly/lfw-gender", manual=GENDER_LISTS),
        Download(
            "wikidata.py",
            f"{WPTOOLS}/tests/wikidata.py",
            "sha256",
            "183e3e6a99740bc32db58f0243801ec8d71386f49f608633a4a28984ff5e47fb",
        ),
    ),
    samples=tuple(Download(path, url, "sha256", sha256) for path, (url, sha256) in SAMPLES.items()),
    lfw_people=tuple(Path(__file__).with_name("lfw_people.txt").read_text(encoding="utf-8").split()),
    lfw_archive="lfw-deepfunneled.tgz",
    lfw_prefix="lfw-deepfunneled",
    lfw_pairs="pairs.txt",
    gender_lists=("female_names.txt", "male_names.txt"),
    wikidata_module="wikidata.py",
    files={**FILES, **{path: sha256 for path, (_, sha256) in SAMPLES.items()}},
    lfw_photos_digest=LFW_PHOTOS,
)
