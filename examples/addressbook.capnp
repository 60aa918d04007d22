@0xe07837b82427227d;
# A small address book: the example the README's first command generates code for.

struct Person {
  # Someone in the address book.

  id @0 :UInt32;
  name @1 :Text;
  email @2 :Text;
  phones @3 :List(PhoneNumber);

  struct PhoneNumber {
    number @0 :Text;
    type @1 :Type = mobile;

    enum Type {
      mobile @0;
      home @1;
      work @2;
    }
  }

  employment :union {
    # What the person does for a living.
    unemployed @4 :Void;
    employer @5 :Text;
    school @6 :Text;
    selfEmployed @7 :Void;
  }
}

struct AddressBook {
  people @0 :List(Person);
}
