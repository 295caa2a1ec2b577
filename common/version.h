#ifndef RTQ_VERSION_H
#define RTQ_VERSION_H
#define RTQ_VERSION	"0.1.0"
#endif
